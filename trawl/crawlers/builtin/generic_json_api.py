"""`generic.json_api`: paginated JSON endpoints mapped to records by dotted paths.

Pagination modes: `page` (page number + page size parameters), `offset` (offset + limit),
`cursor` (the next cursor is read from the response at `cursor_path` and sent back as
`cursor_param`; a cursor that is a URL is fetched as is), or `none`. Paging stops at an
empty page, a short page (fewer items than `page_size`), a missing cursor, a failed fetch
or `max_pages`. A dotted path walks objects by key and lists by index: `data.items.0.id`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from trawl.crawlers.sdk import FETCH_PARAMETER_PROPERTIES, CrawlContext, run_crawler

SERVICE_CODE = "generic.json_api"
ENTRY_POINT = "trawl.crawlers.builtin.generic_json_api"
_MISSING = object()

_FIELD: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "description": "Dotted path in the item."},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {"path": {"type": "string"}, "required": {"type": "boolean"}},
        },
    ]
}

PARAMETERS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "generic.json_api parameters",
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "query": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "Extra query parameters sent with every request.",
        },
        "items_path": {
            "type": "string",
            "default": "",
            "description": "Dotted path to the list of items; empty: the response is the list.",
        },
        "fields": {
            "type": "object",
            "additionalProperties": _FIELD,
            "description": "Record field → dotted path in an item; absent: the item as is.",
        },
        "pagination": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mode": {"enum": ["none", "page", "offset", "cursor"], "default": "none"},
                "page_param": {"type": "string", "default": "page"},
                "offset_param": {"type": "string", "default": "offset"},
                "size_param": {
                    "type": "string",
                    "description": "Page size parameter (default per_page, or limit for "
                    "offset and cursor).",
                },
                "page_size": {"type": "integer", "minimum": 1},
                "start": {
                    "type": ["integer", "string"],
                    "description": "First page (default 1), offset (0) or cursor (none).",
                },
                "cursor_param": {"type": "string", "default": "cursor"},
                "cursor_path": {"type": "string", "description": "Next cursor in a response."},
            },
        },
        "max_pages": {"type": "integer", "minimum": 1, "default": 10_000},
        **FETCH_PARAMETER_PROPERTIES,
    },
}

RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "generic.json_api record",
    "type": "object",
}


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path, or _MISSING."""
    current = data
    for part in (p for p in path.split(".") if p):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and _is_index(part, len(current)):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _is_index(part: str, length: int) -> bool:
    return part.lstrip("-").isdigit() and -length <= int(part) < length


@dataclass(frozen=True, slots=True)
class Paging:
    mode: str
    page_param: str
    offset_param: str
    size_param: str
    page_size: int | None
    start: int | str | None
    cursor_param: str
    cursor_path: str | None

    @classmethod
    def from_params(cls, raw: dict[str, Any]) -> Paging:
        mode = raw.get("mode", "none")
        return cls(
            mode=mode,
            page_param=raw.get("page_param", "page"),
            offset_param=raw.get("offset_param", "offset"),
            size_param=raw.get("size_param", "per_page" if mode == "page" else "limit"),
            page_size=raw.get("page_size"),
            start=raw.get("start"),
            cursor_param=raw.get("cursor_param", "cursor"),
            cursor_path=raw.get("cursor_path"),
        )

    def size_query(self) -> dict[str, Any]:
        return {self.size_param: self.page_size} if self.page_size else {}

    def is_short(self, count: int) -> bool:
        return count == 0 or (self.page_size is not None and count < self.page_size)


@dataclass(frozen=True, slots=True)
class PageRequest:
    url: str
    query: dict[str, Any]
    position: int = 0


@dataclass(frozen=True, slots=True)
class PageResult:
    count: int
    cursor: str | None


class JsonApiCrawl:
    def __init__(self, ctx: CrawlContext) -> None:
        params = ctx.params
        self.ctx = ctx
        self.url: str = params["url"]
        self.headers: dict[str, str] = params.get("headers", {})
        self.items_path: str = params.get("items_path", "")
        self.fields: dict[str, Any] | None = params.get("fields")
        self.paging = Paging.from_params(params.get("pagination", {}))
        self.max_pages: int = params.get("max_pages", 10_000)
        self.base_query: dict[str, Any] = {**params.get("query", {}), **self.paging.size_query()}

    async def run(self) -> None:
        request: PageRequest | None = self.first_request()
        pages = 0
        while request is not None:
            if pages >= self.max_pages:
                self.ctx.log("INFO", f"reached max_pages={self.max_pages}; stopping")
                return
            pages += 1
            result = await self.fetch_page(request)
            request = None if result is None else self.next_request(request, result)

    def first_request(self) -> PageRequest:
        paging = self.paging
        if paging.mode == "cursor":
            return self.cursor_request(None if paging.start is None else str(paging.start))
        position = int(paging.start) if paging.start is not None else _first(paging.mode)
        return self.positioned(position)

    def next_request(self, previous: PageRequest, result: PageResult) -> PageRequest | None:
        mode = self.paging.mode
        if mode == "cursor":
            return None if result.cursor is None else self.cursor_request(result.cursor)
        if mode == "none" or self.paging.is_short(result.count):
            return None
        step = 1 if mode == "page" else result.count
        return self.positioned(previous.position + step)

    def positioned(self, position: int) -> PageRequest:
        name = {"page": self.paging.page_param, "offset": self.paging.offset_param}
        param = name.get(self.paging.mode)
        query = self.base_query if param is None else {**self.base_query, param: position}
        return PageRequest(self.url, query, position)

    def cursor_request(self, cursor: str | None) -> PageRequest:
        if cursor is None:
            return PageRequest(self.url, self.base_query)
        if cursor.startswith(("http://", "https://", "/")):
            return PageRequest(urljoin(self.url, cursor), {})
        return PageRequest(self.url, {**self.base_query, self.paging.cursor_param: cursor})

    async def fetch_page(self, request: PageRequest) -> PageResult | None:
        """Emits the page's items; None when paging cannot go on (errors already counted)."""
        # The report's headers (often credentials) go to the configured API's origin only,
        # never to wherever a cursor URL points.
        headers = self.headers if _same_origin(request.url, self.url) else {}
        page = await self.ctx.fetch(
            request.url, params=request.query or None, headers=headers or None
        )
        if page is None:
            return None
        try:
            data = page.json()
        except ValueError as exc:
            self.ctx.error(f"{page.url} did not answer JSON: {exc}")
            return None
        items = dig(data, self.items_path)
        if not isinstance(items, list):
            self.ctx.error(f"{page.url}: no list of items at {self.items_path or 'the root'!r}")
            return None
        for item in items:
            self.emit(item, page.url)
        return PageResult(len(items), self.next_cursor(data))

    def next_cursor(self, data: Any) -> str | None:
        if self.paging.mode != "cursor" or not self.paging.cursor_path:
            return None
        value = dig(data, self.paging.cursor_path)
        return None if value is _MISSING or value in (None, "") else str(value)

    def emit(self, item: Any, url: str) -> None:
        if self.fields is None:
            if isinstance(item, dict):
                self.ctx.emit(item)
            else:
                self.ctx.error(f"an item on {url} is not an object; map it with fields")
            return
        record, missing = map_fields(item, self.fields)
        if missing:
            self.ctx.counters.errors += 1
            self.ctx.log(
                "WARNING", f"item on {url} not emitted: required {', '.join(missing)} missing"
            )
            return
        self.ctx.emit(record)


def _first(mode: str) -> int:
    return 1 if mode == "page" else 0


def map_fields(item: Any, fields: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The record (paths found) and the required fields that were not found."""
    record: dict[str, Any] = {}
    missing: list[str] = []
    for name, spec in fields.items():
        if isinstance(spec, str):
            path, required = spec, False
        else:
            path, required = spec["path"], spec.get("required", False)
        value = dig(item, path)
        if value is not _MISSING and value is not None:
            record[name] = value
        elif required:
            missing.append(name)
    return record, missing


async def crawl(ctx: CrawlContext) -> None:
    await JsonApiCrawl(ctx).run()


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


if __name__ == "__main__":
    run_crawler(crawl, parameters_schema=PARAMETERS_SCHEMA)
