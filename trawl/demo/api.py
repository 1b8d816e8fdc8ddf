"""The fixture shop's JSON API: the published products, paged three ways.

- `GET /api/products?page=N&per_page=K` (page from 1, K ≤ 100, default 20)
- `GET /api/products?offset=O&limit=L` (offset from 0; chosen when `offset` is present)
- `GET /api/products/cursor?cursor=C&limit=L` (no cursor: the start; the next cursor is at
  `meta.next_cursor`, null on the last page)

Every answer is `{"data": {"products": [...]}, "meta": {...}}`. The first request for the
chunk starting at offset THROTTLED_OFFSET (page 3 of 20) answers 429 with Retry-After: 1."""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from trawl.demo.catalog import Product, published
from trawl.demo.state import FixtureState

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
THROTTLED_OFFSET = 40


def api_item(product: Product) -> dict[str, Any]:
    """Nested a little, so a crawl needs dotted paths: category.name, released."""
    return {
        "id": product.id,
        "name": product.name,
        "sku": product.sku,
        "price": product.price,
        "category": {"slug": product.category_slug, "name": product.category},
        "brand": product.brand,
        "rating": product.rating,
        "in_stock": product.in_stock,
        "tags": list(product.tags),
        "released": product.release_date.isoformat(),
        "description": product.description,
    }


class BadRequest(ValueError):
    pass


def _int(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise BadRequest(f"{name} must be between {low} and {high or 'infinity'}")
    return value


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, offset = text.partition(":")
        if kind == "o" and offset.isdigit():
            return int(offset)
    except ValueError:
        pass
    raise BadRequest("cursor is not one of ours")


def _chunk(state: FixtureState, seed: int, offset: int, limit: int) -> list[dict[str, Any]] | None:
    """The products at offset..offset+limit, or None when this request is the throttled one."""
    if offset == THROTTLED_OFFSET and state.throttle_once(f"api:{offset}"):
        return None
    return [api_item(p) for p in published(seed)[offset : offset + limit]]


def _throttled() -> JSONResponse:
    return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "1"})


def _page(state: FixtureState, seed: int, request: Request) -> JSONResponse:
    total = len(published(seed))
    if "offset" in request.query_params:
        offset = _int(request, "offset", 0, 0)
        limit = _int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        meta: dict[str, Any] = {"offset": offset, "limit": limit, "total": total}
    else:
        page = _int(request, "page", 1, 1)
        limit = _int(request, "per_page", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = (page - 1) * limit
        pages = -(-total // limit)
        meta = {"page": page, "per_page": limit, "total": total, "total_pages": pages}
    items = _chunk(state, seed, offset, limit)
    if items is None:
        return _throttled()
    return JSONResponse({"data": {"products": items}, "meta": meta})


def _cursor_page(state: FixtureState, seed: int, request: Request) -> JSONResponse:
    cursor = request.query_params.get("cursor")
    offset = decode_cursor(cursor) if cursor else 0
    limit = _int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    items = _chunk(state, seed, offset, limit)
    if items is None:
        return _throttled()
    more = offset + limit < len(published(seed))
    meta = {"limit": limit, "next_cursor": encode_cursor(offset + limit) if more else None}
    return JSONResponse({"data": {"products": items}, "meta": meta})


async def products_endpoint(request: Request) -> JSONResponse:
    state: FixtureState = request.app.state.fixture
    seed: int = request.app.state.seed
    try:
        if request.url.path.endswith("/cursor"):
            return _cursor_page(state, seed, request)
        return _page(state, seed, request)
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
