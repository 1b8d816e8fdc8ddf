"""robots.txt and redirects in the crawler SDK's fetcher, over real HTTP on loopback: two
small sites (two origins) whose robots.txt and redirects each test sets, so every hop of a
redirect is seen checked against the robots.txt of the host it lands on."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from trawl.crawlers.sdk import Counters, Fetcher, FetchSettings, FetchStatus

FAST = FetchSettings(backoff_base_seconds=0.01, max_retries=1)


@dataclass
class Site:
    """A loopback site: `robots` is served as /robots.txt (with `robots_status`), and
    `robots_redirect` (when set) answers /robots.txt with a redirect there instead."""

    url: str = ""
    robots: str = ""
    robots_status: int = 200
    robots_redirect: str | None = None
    requests: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)

    def reset(self) -> None:
        self.robots, self.robots_status, self.robots_redirect = "", 200, None
        self.requests.clear()
        self.arrivals.clear()

    def count(self, path: str) -> int:
        return Counter(self.requests)[path]


def _app(site: Site) -> Starlette:
    def record(request: Request) -> None:
        query = request.url.query
        site.requests.append(request.url.path + (f"?{query}" if query else ""))
        site.arrivals.append(time.monotonic())

    async def robots_txt(request: Request) -> Response:
        record(request)
        if site.robots_redirect is not None:
            return RedirectResponse(site.robots_redirect, status_code=301)
        return PlainTextResponse(site.robots, status_code=site.robots_status)

    async def redirect(request: Request) -> Response:
        """`/go?to=URL` answers a 302 to URL."""
        record(request)
        return RedirectResponse(request.query_params["to"], status_code=302)

    async def chain(request: Request) -> Response:
        """`/chain/N` redirects to `/chain/N-1`; `/chain/0` is a page."""
        record(request)
        n = int(request.path_params["n"])
        if n == 0:
            return PlainTextResponse("end of the chain")
        return RedirectResponse(f"/chain/{n - 1}", status_code=301)

    async def cookie_check(request: Request) -> Response:
        """Redirects to itself once, setting the cookie it then expects."""
        record(request)
        if request.cookies.get("checked") == "yes":
            return PlainTextResponse("cookies work")
        response = RedirectResponse(str(request.url), status_code=302)
        response.set_cookie("checked", "yes")
        return response

    async def page(request: Request) -> Response:
        record(request)
        return PlainTextResponse(f"page {request.url.path}")

    return Starlette(
        routes=[
            Route("/robots.txt", robots_txt),
            Route("/go", redirect),
            Route("/chain/{n:int}", chain),
            Route("/cookie-check", cookie_check),
            Route("/{path:path}", page),
        ]
    )


@dataclass
class _Running:
    site: Site
    server: uvicorn.Server
    thread: threading.Thread


def _serve(site: Site) -> _Running:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_app(site), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test site did not start"
        time.sleep(0.01)
    site.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return _Running(site, server, thread)


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[Site, Site]]:
    running = [_serve(Site()), _serve(Site())]
    yield running[0].site, running[1].site
    for each in running:
        each.server.should_exit = True
        each.thread.join(5)


@pytest.fixture
def a(sites: tuple[Site, Site]) -> Site:
    sites[0].reset()
    return sites[0]


@pytest.fixture
def b(sites: tuple[Site, Site]) -> Site:
    sites[1].reset()
    return sites[1]


class Logs:
    """The fetcher's log lines, as (level, message)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, level: str, message: str) -> None:
        self.lines.append((level, message))

    def messages(self, level: str) -> list[str]:
        return [message for lvl, message in self.lines if lvl == level]


def fetcher(logs: Logs, settings: FetchSettings = FAST) -> Fetcher:
    return Fetcher(settings, Counters(), logs)


async def test_wildcard_rules_are_honoured(a: Site) -> None:
    a.robots = "User-agent: *\nDisallow: /*.pdf$\nDisallow: /*?sessionid=\nAllow: /docs/*.pdf$\n"
    logs = Logs()
    async with fetcher(logs) as f:
        results = {
            path: (await f.request(a.url + path)).status
            for path in [
                "/files/report.pdf",
                "/files/report.pdf?download=1",
                "/docs/manual.pdf",
                "/cart?sessionid=42",
                "/cart",
            ]
        }
    assert results == {
        "/files/report.pdf": FetchStatus.DISALLOWED,
        "/files/report.pdf?download=1": FetchStatus.OK,
        "/docs/manual.pdf": FetchStatus.OK,
        "/cart?sessionid=42": FetchStatus.DISALLOWED,
        "/cart": FetchStatus.OK,
    }
    assert a.requests == [
        "/robots.txt",
        "/files/report.pdf?download=1",
        "/docs/manual.pdf",
        "/cart",
    ]
    assert (f.counters.skipped, f.counters.pages, f.counters.errors) == (2, 3, 0)
    assert logs.messages("INFO") == [
        f"skipped {a.url}/files/report.pdf: disallowed by robots.txt",
        f"skipped {a.url}/cart?sessionid=42: disallowed by robots.txt",
    ]


async def test_a_redirect_into_a_disallowed_path_is_not_followed(a: Site) -> None:
    a.robots = "User-agent: *\nDisallow: /private/\n"
    logs = Logs()
    async with fetcher(logs) as f:
        result = await f.request(f"{a.url}/go?to=/private/secret")
    assert result.status is FetchStatus.DISALLOWED
    assert result.url == f"{a.url}/go?to=/private/secret"
    assert result.reason == f"redirected to {a.url}/private/secret, disallowed by robots.txt"
    assert a.count("/private/secret") == 0 and a.count("/robots.txt") == 1
    assert (f.counters.skipped, f.counters.pages, f.counters.errors) == (1, 0, 0)
    assert logs.messages("INFO") == [f"skipped {a.url}/private/secret: disallowed by robots.txt"]


async def test_a_redirect_to_another_host_obeys_that_hosts_robots_txt(a: Site, b: Site) -> None:
    a.robots = "User-agent: *\nDisallow:\n"
    b.robots = "User-agent: *\nDisallow: /closed/\n\nUser-agent: TrawlBot\nDisallow: /trawl-free/\n"
    logs = Logs()
    async with fetcher(logs) as f:
        closed = await f.request(f"{a.url}/go?to={b.url}/trawl-free/page")
        starred = await f.request(f"{a.url}/go?to={b.url}/closed/page")
        open_page = await f.fetch(f"{a.url}/go?to={b.url}/open/page")
    assert closed.status is FetchStatus.DISALLOWED
    assert starred.status is FetchStatus.OK  # TrawlBot has its own group on b
    assert open_page is not None and open_page.url == f"{b.url}/open/page"
    assert open_page.request_url == f"{a.url}/go?to={b.url}/open/page"
    assert b.requests == ["/robots.txt", "/closed/page", "/open/page"]
    assert (f.counters.skipped, f.counters.pages) == (1, 2)
    assert logs.messages("INFO") == [f"skipped {b.url}/trawl-free/page: disallowed by robots.txt"]


async def test_a_redirect_chain_over_the_hop_limit_is_an_error(a: Site) -> None:
    logs = Logs()
    async with fetcher(logs, FetchSettings(max_redirects=3)) as f:
        within = await f.request(f"{a.url}/chain/3")
        over = await f.request(f"{a.url}/chain/9")
    assert within.status is FetchStatus.OK and within.page is not None
    assert within.page.text == "end of the chain"
    assert over.status is FetchStatus.FAILED
    assert over.reason == "TooManyRedirects: more than 3 redirects"
    assert [r for r in a.requests if r.startswith("/chain/")] == [
        *(f"/chain/{n}" for n in (3, 2, 1, 0)),
        *(f"/chain/{n}" for n in (9, 8, 7, 6)),
    ]
    assert (f.counters.pages, f.counters.errors, f.counters.skipped) == (1, 1, 0)
    assert logs.messages("ERROR") == [
        f"GET {a.url}/chain/9 failed: TooManyRedirects: more than 3 redirects"
    ]


async def test_every_hop_is_checked_not_only_the_last(a: Site) -> None:
    a.robots = "User-agent: *\nDisallow: /chain/2$\n"
    async with fetcher(Logs()) as f:
        result = await f.request(f"{a.url}/chain/4")
    assert result.status is FetchStatus.DISALLOWED
    assert [r for r in a.requests if r.startswith("/chain/")] == ["/chain/4", "/chain/3"]


async def test_the_target_of_a_redirect_counts_as_requested(a: Site) -> None:
    async with fetcher(Logs()) as f:
        first = await f.request(f"{a.url}/go?to=/landing")
        direct = await f.request(f"{a.url}/landing")
        again = await f.request(f"{a.url}/go?to=/landing&from=elsewhere")
        forced = await f.request(f"{a.url}/go?to=/landing", dedupe=False)
    assert first.status is FetchStatus.OK
    assert direct.status is FetchStatus.DUPLICATE
    assert again.status is FetchStatus.DUPLICATE
    assert again.reason == f"redirected to {a.url}/landing, already requested"
    assert forced.status is FetchStatus.OK
    assert a.count("/landing") == 2 and f.counters.pages == 2


async def test_a_redirect_back_to_the_same_url_is_followed(a: Site) -> None:
    async with fetcher(Logs()) as f:
        page = await f.fetch(f"{a.url}/cookie-check")
    assert page is not None and page.text == "cookies work"
    assert a.count("/cookie-check") == 2


async def test_robots_txt_redirects_are_followed_across_hosts(a: Site, b: Site) -> None:
    a.robots_redirect = f"{b.url}/robots.txt"
    b.robots = "User-agent: *\nDisallow: /x/\n"
    async with fetcher(Logs()) as f:
        disallowed = await f.request(f"{a.url}/x/page")
        allowed = await f.request(f"{a.url}/y/page")
    assert (disallowed.status, allowed.status) == (FetchStatus.DISALLOWED, FetchStatus.OK)
    assert a.requests == ["/robots.txt", "/y/page"]
    assert b.requests == ["/robots.txt"]


async def test_robots_txt_redirecting_more_than_five_times_counts_as_absent(a: Site) -> None:
    a.robots_redirect = "/robots.txt"  # a loop: never reaches a file
    logs = Logs()
    async with fetcher(logs) as f:
        result = await f.request(f"{a.url}/x/page")
    assert result.status is FetchStatus.OK
    assert a.count("/robots.txt") == 6  # the first request and five redirects
    assert logs.messages("WARNING") == [
        f"robots.txt of {a.url} redirects more than 5 times; crawling that host as if it had none"
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [(404, FetchStatus.OK), (403, FetchStatus.OK), (503, FetchStatus.DISALLOWED)],
)
async def test_robots_txt_status_codes(a: Site, status: int, expected: FetchStatus) -> None:
    a.robots, a.robots_status = "User-agent: *\nDisallow: /\n", status
    async with fetcher(Logs()) as f:
        result = await f.request(f"{a.url}/page")
    assert result.status is expected


async def test_crawl_delay_spaces_requests(a: Site) -> None:
    a.robots = "User-agent: *\nCrawl-delay: 0.3\n"
    async with fetcher(Logs()) as f:
        for n in range(3):
            assert await f.fetch(f"{a.url}/page/{n}") is not None
    gaps = [later - earlier for earlier, later in itertools.pairwise(a.arrivals[1:])]
    assert len(gaps) == 2 and min(gaps) >= 0.25
