"""`generic.html`: a config-driven crawler for HTML sites.

From the start URLs it walks listing pages — their pagination ("next") links and any link
matching a `follow` pattern — and takes items either from the listing itself
(`item_selector`: each match is one item) or from detail pages (`item_link_selector`: each
linked page is one item); with neither, every visited page is one item. Fields are read
with the selectors of `fields` (see trawl.crawlers.builtin.extraction).

Depth: start pages are 0; a followed link or a detail page is one deeper than the page that
links to it; a pagination link keeps its page's depth, so a long listing is not cut short."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trawl.crawlers.builtin.extraction import (
    FIELDS_SCHEMA,
    ITEM_SELECTOR_SCHEMA,
    TYPED_VALUE_DEFS,
    URL_FIELD_SCHEMA,
    FieldSpec,
    emit_page_items,
    parse_fields,
)
from trawl.crawlers.sdk import (
    FETCH_PARAMETER_PROPERTIES,
    CrawlContext,
    Frontier,
    Page,
    Visit,
    run_crawler,
)

SERVICE_CODE = "generic.html"
ENTRY_POINT = "trawl.crawlers.builtin.generic_html"
LISTING = "listing"
DETAIL = "detail"

PARAMETERS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "generic.html parameters",
    "type": "object",
    "additionalProperties": False,
    "required": ["start_urls", "fields"],
    "properties": {
        "start_urls": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "pattern": "^https?://"},
        },
        "follow": {
            "type": "array",
            "items": {"type": "string", "format": "regex"},
            "default": [],
            "description": "Regexes (searched in the absolute URL) of links to crawl as listings.",
        },
        "pagination_selector": {
            "type": "string",
            "minLength": 1,
            "description": 'CSS of the "next page" link, e.g. a[rel=next].',
        },
        "item_selector": ITEM_SELECTOR_SCHEMA,
        "item_link_selector": {
            "type": "string",
            "minLength": 1,
            "description": "CSS of links to detail pages, each parsed as one item.",
        },
        "fields": FIELDS_SCHEMA,
        "url_field": URL_FIELD_SCHEMA,
        "max_pages": {"type": "integer", "minimum": 1, "default": 10_000},
        "max_depth": {"type": "integer", "minimum": 0, "default": 3},
        "concurrency": {
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "default": 8,
            "description": "Pages handled at once (each host is limited by the platform too).",
        },
        **FETCH_PARAMETER_PROPERTIES,
    },
}

# Generic: the report declares the schema of what its fields produce.
RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "generic.html record",
    "type": "object",
    "$defs": TYPED_VALUE_DEFS,
}


@dataclass(frozen=True, slots=True)
class HtmlConfig:
    start_urls: list[str]
    follow: list[re.Pattern[str]]
    pagination_selector: str | None
    item_selector: str | None
    item_link_selector: str | None
    fields: list[FieldSpec]
    url_field: str | None
    max_pages: int
    max_depth: int
    concurrency: int

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> HtmlConfig:
        return cls(
            start_urls=params["start_urls"],
            follow=[re.compile(p) for p in params.get("follow", [])],
            pagination_selector=params.get("pagination_selector"),
            item_selector=params.get("item_selector"),
            item_link_selector=params.get("item_link_selector"),
            fields=parse_fields(params["fields"]),
            url_field=params.get("url_field"),
            max_pages=params.get("max_pages", 10_000),
            max_depth=params.get("max_depth", 3),
            concurrency=params.get("concurrency", 8),
        )

    @property
    def pages_are_items(self) -> bool:
        return self.item_selector is None and self.item_link_selector is None


class HtmlCrawl:
    def __init__(self, ctx: CrawlContext, config: HtmlConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.frontier = Frontier(
            ctx, self.visit, workers=config.concurrency, max_visits=config.max_pages
        )

    async def run(self) -> None:
        for url in self.config.start_urls:
            self.frontier.add(url, depth=0, kind=LISTING)
        await self.frontier.run()

    async def visit(self, visit: Visit) -> None:
        page = await self.ctx.fetch(visit.url)
        if page is None:  # a duplicate, a robots.txt skip or a failure (already counted)
            return
        config = self.config
        if visit.kind == DETAIL or config.pages_are_items:
            emit_page_items(self.ctx, page, config.fields, url_field=config.url_field)
        if visit.kind == LISTING:
            self.on_listing(page, visit.depth)

    def on_listing(self, page: Page, depth: int) -> None:
        config = self.config
        if config.item_selector:
            emit_page_items(self.ctx, page, config.fields, config.item_selector, config.url_field)
        if config.pagination_selector:
            for url in page.links(config.pagination_selector):
                self.frontier.add(url, depth=depth, kind=LISTING)
        if depth >= config.max_depth:
            return
        if config.item_link_selector:
            for url in page.links(config.item_link_selector):
                self.frontier.add(url, depth=depth + 1, kind=DETAIL)
        if config.follow:
            for url in page.links("a[href]"):
                if any(pattern.search(url) for pattern in config.follow):
                    self.frontier.add(url, depth=depth + 1, kind=LISTING)


async def crawl(ctx: CrawlContext) -> None:
    await HtmlCrawl(ctx, HtmlConfig.from_params(ctx.params)).run()


if __name__ == "__main__":
    run_crawler(crawl, parameters_schema=PARAMETERS_SCHEMA)
