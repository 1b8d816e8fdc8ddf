"""The fixture shop: a deterministic catalogue site served on loopback, for the crawler tests,
`bench/crawl` and the embedded demo (`trawl up`).

What it serves (data and broken products: trawl.demo.catalog; JSON API: trawl.demo.api):
- `/catalog?page=N`: all products, PAGE_SIZE (20) per page, 50 pages, `a.next[rel=next]`
  links; the FIRST request for page 3 since a reset answers 429 with `Retry-After: 1`.
  Cards: `li.product-card[data-id]` > `a.product-link` (href = the detail page) + `.price`.
- `/category/<slug>?page=N`: the same per category. Page numbers past the end: 404.
- `/products/<id>`: detail page, `article.product[data-id]` with `h1.name`, `dd.sku`,
  `dd.price`, `dd.category a`, `dd.brand`, `dd.rating` ("4.5 out of 5"), `dd.stock`
  ("In stock"/"Out of stock"), `dd.released time` ("5 April 2021"), `ul.tags li`,
  `p.description`. Broken on purpose: WITHDRAWN_IDS → 404, ERROR_IDS → 500 every time,
  MALFORMED_IDS → truncated HTML without a price.
- `/private/products/<id>`: PRIVATE_IDS' detail pages (the listings link there); robots.txt
  disallows `/private/`.
- `/sitemap.xml`: a sitemap index → `/sitemaps/pages.xml` (home, about, listings) and
  `/sitemaps/products-index.xml`, itself an index → `/sitemaps/products-<n>.xml`
  (250 product URLs each, private ones included).
- `/_fixture/...`: probes for SDK tests (headers, cookies, slow and flaky answers) and
  `POST /_fixture/reset` / `GET /_fixture/stats` for the site's memory (trawl.demo.state).

`serve_fixture_site(port)` runs it with uvicorn in a thread and answers a handle with
`.url`, `.state` and `.stop()`."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from trawl.demo import pages
from trawl.demo.api import products_endpoint
from trawl.demo.catalog import (
    CATEGORIES,
    DEFAULT_SEED,
    ERROR_IDS,
    MALFORMED_IDS,
    PAGE_SIZE,
    PRIVATE_IDS,
    WITHDRAWN_IDS,
    Product,
    by_category,
    catalog,
    expected_products,
    page_count,
)
from trawl.demo.state import FixtureState

__all__ = ["RunningSite", "create_fixture_site", "expected_products", "serve_fixture_site"]

THROTTLED_LISTING_PAGE = 3
SITEMAP_SIZE = 250
XML = "application/xml"


class _RecordRequests:
    """ASGI middleware: every request's target goes into the site's memory first."""

    def __init__(self, app: ASGIApp, state: FixtureState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode()
            self.state.record(scope["path"] + (f"?{query}" if query else ""))
        await self.app(scope, receive, send)


def _state(request: Request) -> FixtureState:
    state: FixtureState = request.app.state.fixture
    return state


def _products(request: Request) -> tuple[Product, ...]:
    return catalog(request.app.state.seed)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _page_number(request: Request) -> int | None:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and int(raw) >= 1 else None


def _listing(request: Request, title: str, path: str, items: tuple[Product, ...]) -> Response:
    page = _page_number(request)
    if page is None or page > page_count(len(items)):
        return HTMLResponse(pages.not_found(f"{title}: no such page"), status_code=404)
    chosen = list(items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    return HTMLResponse(pages.listing(title, path, chosen, page, len(items)))


async def catalog_page(request: Request) -> Response:
    if _page_number(request) == THROTTLED_LISTING_PAGE and _state(request).throttle_once(
        f"catalog:{THROTTLED_LISTING_PAGE}"
    ):
        return PlainTextResponse("slow down", status_code=429, headers={"Retry-After": "1"})
    return _listing(request, "Catalogue", "/catalog", _products(request))


async def category_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    names = dict(CATEGORIES)
    if slug not in names:
        return HTMLResponse(pages.not_found(f"no category {slug}"), status_code=404)
    items = by_category(slug, request.app.state.seed)
    return _listing(request, names[slug], f"/category/{slug}", items)


def _detail(request: Request, private: bool) -> Response:
    product_id: int = request.path_params["product_id"]
    products = _products(request)
    if not 1 <= product_id <= len(products) or (product_id in PRIVATE_IDS) != private:
        return HTMLResponse(pages.not_found(f"no product {product_id}"), status_code=404)
    product = products[product_id - 1]
    if product_id in WITHDRAWN_IDS:
        return HTMLResponse(pages.not_found("this product was withdrawn"), status_code=404)
    if product_id in ERROR_IDS:
        return PlainTextResponse("internal server error", status_code=500)
    if product_id in MALFORMED_IDS:
        return HTMLResponse(pages.malformed_detail(product))
    return HTMLResponse(pages.detail(product))


async def product_page(request: Request) -> Response:
    return _detail(request, private=False)


async def private_product_page(request: Request) -> Response:
    return _detail(request, private=True)


async def robots_txt(request: Request) -> Response:
    return PlainTextResponse(pages.ROBOTS_TXT.format(base=_base(request)))


async def sitemap_root(request: Request) -> Response:
    base = _base(request)
    nested = [f"{base}/sitemaps/pages.xml", f"{base}/sitemaps/products-index.xml"]
    return Response(pages.sitemap_index(nested), media_type=XML)


async def sitemap_products_index(request: Request) -> Response:
    count = page_count(len(_products(request)), SITEMAP_SIZE)
    urls = [f"{_base(request)}/sitemaps/products-{n}.xml" for n in range(1, count + 1)]
    return Response(pages.sitemap_index(urls), media_type=XML)


async def sitemap_products(request: Request) -> Response:
    number: int = request.path_params["number"]
    chosen = _products(request)[(number - 1) * SITEMAP_SIZE : number * SITEMAP_SIZE]
    if number < 1 or not chosen:
        return PlainTextResponse("no such sitemap", status_code=404)
    return Response(pages.urlset(_base(request) + p.path for p in chosen), media_type=XML)


async def sitemap_pages(request: Request) -> Response:
    base = _base(request)
    paths = ["/", "/about", "/catalog?page=1", *(f"/category/{s}?page=1" for s, _ in CATEGORIES)]
    return Response(pages.urlset(base + path for path in paths), media_type=XML)


async def home(request: Request) -> Response:
    return HTMLResponse(pages.home(len(_products(request))))


async def about(request: Request) -> Response:
    return HTMLResponse(pages.about())


async def private_index(request: Request) -> Response:
    links = "".join(f'<a href="/private/products/{i}">{i}</a> ' for i in sorted(PRIVATE_IDS))
    return HTMLResponse(pages.layout("Private", f"<h1>Staff only</h1>{links}"))


async def probe_headers(request: Request) -> Response:
    """What the client sent: headers and cookies (user agent, cookie jar, proxy tests)."""
    return JSONResponse({"headers": dict(request.headers), "cookies": dict(request.cookies)})


async def probe_set_cookie(request: Request) -> Response:
    response = JSONResponse({"ok": True})
    name = request.query_params.get("name", "session")
    response.set_cookie(name, request.query_params.get("value", "1"))
    return response


async def probe_slow(request: Request) -> Response:
    """Answers after `delay` seconds; the state tracks how many are in flight at once."""
    state = _state(request)
    state.enter()
    try:
        await asyncio.sleep(float(request.query_params.get("delay", "0.1")))
        return JSONResponse({"in_flight": state.in_flight})
    finally:
        state.leave()


async def probe_flaky(request: Request) -> Response:
    """The first `failures` requests for `key` answer `status` (with Retry-After when
    `retry_after` is given, or as an HTTP date with `retry_after_date`), then 200."""
    query = request.query_params
    key = query.get("key", "default")
    state = _state(request)
    state.flaky[key] += 1
    if state.flaky[key] > int(query.get("failures", "1")):
        return JSONResponse({"ok": True, "attempt": state.flaky[key]})
    headers = {}
    if "retry_after" in query:
        headers["Retry-After"] = query["retry_after"]
    if "retry_after_date" in query:
        when = time.time() + float(query["retry_after_date"])
        headers["Retry-After"] = formatdate(when, usegmt=True)
    status = int(query.get("status", "500"))
    return PlainTextResponse("not now", status_code=status, headers=headers)


async def probe_reset(request: Request) -> Response:
    _state(request).reset()
    return JSONResponse({"ok": True})


async def probe_stats(request: Request) -> Response:
    return JSONResponse(_state(request).summary())


ROUTES = [
    Route("/", home),
    Route("/about", about),
    Route("/robots.txt", robots_txt),
    Route("/catalog", catalog_page),
    Route("/category/{slug}", category_page),
    Route("/products/{product_id:int}", product_page),
    Route("/private/", private_index),
    Route("/private/products/{product_id:int}", private_product_page),
    Route("/sitemap.xml", sitemap_root),
    Route("/sitemaps/pages.xml", sitemap_pages),
    Route("/sitemaps/products-index.xml", sitemap_products_index),
    Route("/sitemaps/products-{number:int}.xml", sitemap_products),
    Route("/api/products", products_endpoint),
    Route("/api/products/cursor", products_endpoint),
    Route("/_fixture/headers", probe_headers),
    Route("/_fixture/set-cookie", probe_set_cookie),
    Route("/_fixture/slow", probe_slow),
    Route("/_fixture/flaky", probe_flaky),
    Route("/_fixture/reset", probe_reset, methods=["POST"]),
    Route("/_fixture/stats", probe_stats),
]


def create_fixture_site(seed: int = DEFAULT_SEED) -> Starlette:
    """The ASGI app; its memory is `app.state.fixture` (a FixtureState)."""
    state = FixtureState()
    app = Starlette(routes=ROUTES)
    app.state.fixture = state
    app.state.seed = seed
    app.add_middleware(_RecordRequests, state=state)
    return app


@dataclass
class RunningSite:
    url: str
    app: Starlette
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def state(self) -> FixtureState:
        state: FixtureState = self.app.state.fixture
        return state

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def serve_fixture_site(
    port: int = 0, *, seed: int = DEFAULT_SEED, host: str = "127.0.0.1", timeout: float = 10.0
) -> RunningSite:
    """Serves the site in a background thread; port 0 picks a free one (see `.url`)."""
    app = create_fixture_site(seed)
    sock = _bind(host, port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fixture-site", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the fixture site did not start on {host}:{port}")
        time.sleep(0.01)
    bound_host, bound_port = sock.getsockname()[:2]
    return RunningSite(f"http://{bound_host}:{bound_port}", app, server, thread)
