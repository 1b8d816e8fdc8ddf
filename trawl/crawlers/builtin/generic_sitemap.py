"""`generic.sitemap`: item pages listed by sitemaps, parsed like generic.html.

Each sitemap URL may be a `<urlset>` (its `<loc>`s are item pages, kept when they match
`url_filter`) or a `<sitemapindex>` (its `<loc>`s are more sitemaps, followed to any depth
up to `max_sitemaps`); gzipped sitemaps are read too. Every item page is parsed with the
same field selectors as generic.html (one item per page, or each `item_selector` match)."""

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

SERVICE_CODE = "generic.sitemap"
ENTRY_POINT = "trawl.crawlers.builtin.generic_sitemap"
SITEMAP = "sitemap"
ITEM = "item"

PARAMETERS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "generic.sitemap parameters",
    "type": "object",
    "additionalProperties": False,
    "required": ["sitemap_urls", "fields"],
    "properties": {
        "sitemap_urls": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "pattern": "^https?://"},
        },
        "url_filter": {
            "type": "string",
            "format": "regex",
            "description": "Only item URLs this regex is found in are crawled.",
        },
        "fields": FIELDS_SCHEMA,
        "item_selector": ITEM_SELECTOR_SCHEMA,
        "url_field": URL_FIELD_SCHEMA,
        "max_pages": {
            "type": "integer",
            "minimum": 1,
            "default": 10_000,
            "description": "Item pages at most (sitemaps are not counted).",
        },
        "max_sitemaps": {"type": "integer", "minimum": 1, "default": 100},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 64, "default": 8},
        **FETCH_PARAMETER_PROPERTIES,
    },
}

RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "generic.sitemap record",
    "type": "object",
    "$defs": TYPED_VALUE_DEFS,
}


@dataclass(frozen=True, slots=True)
class SitemapConfig:
    sitemap_urls: list[str]
    url_filter: re.Pattern[str] | None
    fields: list[FieldSpec]
    item_selector: str | None
    url_field: str | None
    max_pages: int
    max_sitemaps: int
    concurrency: int

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SitemapConfig:
        url_filter = params.get("url_filter")
        return cls(
            sitemap_urls=params["sitemap_urls"],
            url_filter=re.compile(url_filter) if url_filter else None,
            fields=parse_fields(params["fields"]),
            item_selector=params.get("item_selector"),
            url_field=params.get("url_field"),
            max_pages=params.get("max_pages", 10_000),
            max_sitemaps=params.get("max_sitemaps", 100),
            concurrency=params.get("concurrency", 8),
        )


class SitemapCrawl:
    def __init__(self, ctx: CrawlContext, config: SitemapConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.frontier = Frontier(ctx, self.visit, workers=config.concurrency)
        self.sitemaps = 0
        self.items = 0

    async def run(self) -> None:
        for url in self.config.sitemap_urls:
            self.add_sitemap(url)
        await self.frontier.run()

    def add_sitemap(self, url: str) -> None:
        if self.sitemaps >= self.config.max_sitemaps:
            self.ctx.log("WARNING", f"max_sitemaps={self.config.max_sitemaps} reached; skip {url}")
            return
        if self.frontier.add(url, kind=SITEMAP):
            self.sitemaps += 1

    def add_item(self, url: str) -> None:
        if self.config.url_filter is not None and not self.config.url_filter.search(url):
            return
        if self.items >= self.config.max_pages:
            return
        if self.frontier.add(url, kind=ITEM):
            self.items += 1
            if self.items == self.config.max_pages:
                self.ctx.log("INFO", f"max_pages={self.config.max_pages} reached")

    async def visit(self, visit: Visit) -> None:
        page = await self.ctx.fetch(visit.url)
        if page is None:  # a duplicate, a robots.txt skip or a failure (already counted)
            return
        if visit.kind == SITEMAP:
            self.read_sitemap(page)
            return
        config = self.config
        emit_page_items(self.ctx, page, config.fields, config.item_selector, config.url_field)

    def read_sitemap(self, page: Page) -> None:
        try:
            document = page.xml()
        except ValueError as exc:
            self.ctx.error(f"sitemap {page.url} is not XML: {exc}")
            return
        nested = document.xpath("/sitemapindex/sitemap/loc/text()").getall()
        items = document.xpath("/urlset/url/loc/text()").getall()
        if not nested and not items and not document.xpath("/urlset | /sitemapindex"):
            self.ctx.error(f"{page.url} is not a sitemap (no <urlset> or <sitemapindex>)")
            return
        for loc in nested:
            self.add_sitemap(page.urljoin(loc))
        for loc in items:
            self.add_item(page.urljoin(loc))


async def crawl(ctx: CrawlContext) -> None:
    await SitemapCrawl(ctx, SitemapConfig.from_params(ctx.params)).run()


if __name__ == "__main__":
    run_crawler(crawl, parameters_schema=PARAMETERS_SCHEMA)
