"""The crawler SDK over real HTTP on loopback (the fixture site): retries and Retry-After,
robots.txt, per-host limits, de-duplication, cookies, user agent, proxy; and the runtime as
a real process: stats, buffer, failure reasons, SIGTERM."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.support.crawler_process import crawler_env, run_crawler_process
from trawl.crawlers.buffer import record_id
from trawl.crawlers.sdk import Counters, Fetcher, FetchSettings, FetchStatus
from trawl.crawlers.sdk.retry import retry_after_seconds
from trawl.demo.fixture_site import RunningSite, serve_fixture_site

FAST = FetchSettings(backoff_base_seconds=0.01, max_retries=3)


@pytest.fixture(scope="module")
def site() -> Iterator[RunningSite]:
    running = serve_fixture_site(0)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh_site(site: RunningSite) -> None:
    site.state.reset()


def fetcher(settings: FetchSettings = FAST) -> Fetcher:
    return Fetcher(settings, Counters())


async def test_5xx_is_retried_until_it_succeeds(site: RunningSite) -> None:
    async with fetcher() as f:
        page = await f.fetch(f"{site.url}/_fixture/flaky?key=a&failures=2&status=503")
    assert page is not None and page.json() == {"ok": True, "attempt": 3}
    assert (f.counters.pages, f.counters.errors) == (1, 0)


async def test_a_request_failing_every_retry_is_one_error(site: RunningSite) -> None:
    async with fetcher(FetchSettings(backoff_base_seconds=0.01, max_retries=2)) as f:
        result = await f.request(f"{site.url}/_fixture/flaky?key=b&failures=9&status=500")
    assert result.status is FetchStatus.FAILED and result.attempts == 3
    assert result.reason == "HTTP 500"
    assert site.state.flaky["b"] == 3
    assert (f.counters.pages, f.counters.errors) == (0, 1)


async def test_404_is_an_error_without_retries(site: RunningSite) -> None:
    async with fetcher() as f:
        result = await f.request(f"{site.url}/products/17")
    assert result.status is FetchStatus.FAILED and result.attempts == 1
    assert result.page is not None and result.page.status == 404
    assert f.counters.errors == 1


async def test_429_waits_for_retry_after_rather_than_its_own_backoff(site: RunningSite) -> None:
    slow_backoff = FetchSettings(backoff_base_seconds=30, backoff_cap_seconds=30)
    async with fetcher(slow_backoff) as f:
        started = time.monotonic()
        page = await f.fetch(f"{site.url}/_fixture/flaky?key=c&status=429&retry_after=1")
        elapsed = time.monotonic() - started
    assert page is not None
    # Retry-After (1 s) was honoured, not the 30 s backoff; the upper bound is loose for CI.
    assert 1.0 <= elapsed < 10


async def test_retry_after_as_an_http_date(site: RunningSite) -> None:
    async with fetcher(FetchSettings(backoff_base_seconds=30)) as f:
        started = time.monotonic()
        page = await f.fetch(f"{site.url}/_fixture/flaky?key=d&status=503&retry_after_date=2")
        elapsed = time.monotonic() - started
    assert page is not None
    assert 0.9 <= elapsed < 10  # HTTP dates have whole seconds; the backoff would be 30 s


async def test_retry_after_is_capped(site: RunningSite) -> None:
    capped = FetchSettings(retry_after_cap_seconds=0.2)
    async with fetcher(capped) as f:
        started = time.monotonic()
        page = await f.fetch(f"{site.url}/_fixture/flaky?key=e&status=429&retry_after=3600")
    assert page is not None and time.monotonic() - started < 10  # not 3600 s


def test_retry_after_parsing() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("3", now) == 3
    assert retry_after_seconds("Mon, 01 Jan 2024 12:00:05 GMT", now) == 5
    assert retry_after_seconds("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


async def test_network_errors_are_retried_then_counted(unused_port: int) -> None:
    settings = FetchSettings(backoff_base_seconds=0.01, max_retries=2, obey_robots=False)
    async with fetcher(settings) as f:
        result = await f.request(f"http://127.0.0.1:{unused_port}/")
    assert result.status is FetchStatus.FAILED and result.attempts == 3
    assert result.reason.startswith("ConnectError")
    assert f.counters.errors == 1


async def test_robots_txt_disallowed_pages_are_skipped_not_errors(site: RunningSite) -> None:
    async with fetcher() as f:
        results = await asyncio.gather(
            f.request(f"{site.url}/private/products/42"),
            f.request(f"{site.url}/private/products/142"),
            f.request(f"{site.url}/products/1"),
        )
    assert [r.status for r in results] == [
        FetchStatus.DISALLOWED,
        FetchStatus.DISALLOWED,
        FetchStatus.OK,
    ]
    assert (f.counters.skipped, f.counters.errors, f.counters.pages) == (2, 0, 1)
    assert site.state.requested("/private/") == 0
    assert site.state.requests["/robots.txt"] == 1  # read once per host


async def test_robots_txt_can_be_ignored(site: RunningSite) -> None:
    async with fetcher(FetchSettings(obey_robots=False)) as f:
        page = await f.fetch(f"{site.url}/private/products/42")
    assert page is not None and page.css("h1.name::text").get()
    assert site.state.requests["/robots.txt"] == 0


async def test_robots_txt_rules_for_other_agents_do_not_apply(site: RunningSite) -> None:
    async with fetcher(FetchSettings(user_agent="EvilBot/1.0")) as f:
        result = await f.request(f"{site.url}/products/1")
    assert result.status is FetchStatus.DISALLOWED


async def test_per_host_concurrency_limit_is_held(site: RunningSite) -> None:
    async with fetcher(FetchSettings(domain_concurrency=3)) as f:
        pages = await asyncio.gather(
            *(f.fetch(f"{site.url}/_fixture/slow?delay=0.1&n={n}") for n in range(12))
        )
    assert all(page is not None for page in pages)
    assert site.state.max_in_flight == 3


async def test_per_host_delay_spaces_request_starts(site: RunningSite) -> None:
    async with fetcher(FetchSettings(domain_concurrency=4, domain_delay_seconds=0.15)) as f:
        await asyncio.gather(
            *(f.fetch(f"{site.url}/_fixture/slow?delay=0&n={n}") for n in range(4))
        )
    arrivals = site.state.arrivals
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # Spaced by the delay (0.15 s), with slack for the server's clock of arrivals.
    assert len(arrivals) == 4 and min(gaps) >= 0.1


async def test_the_same_url_is_fetched_once(site: RunningSite) -> None:
    async with fetcher() as f:
        first = await f.request(f"{site.url}/catalog?page=1&sort=name")
        again = await f.request(f"{site.url.upper()}/catalog?sort=name&page=1#top")
        forced = await f.request(f"{site.url}/catalog?page=1&sort=name", dedupe=False)
        assert await f.fetch(f"{site.url}/catalog?page=1&sort=name") is None
    assert first.status is FetchStatus.OK and forced.status is FetchStatus.OK
    assert again.status is FetchStatus.DUPLICATE
    assert site.state.requested("/catalog?") == 2
    assert f.counters.pages == 2


async def test_cookies_are_kept_for_the_run_and_the_user_agent_is_sent(site: RunningSite) -> None:
    async with fetcher(FetchSettings(user_agent="TestBot/2.0 (+https://example.test)")) as f:
        await f.fetch(f"{site.url}/_fixture/set-cookie?name=sid&value=abc")
        page = await f.fetch(f"{site.url}/_fixture/headers")
    assert page is not None
    seen = page.json()
    assert seen["cookies"] == {"sid": "abc"}
    assert seen["headers"]["user-agent"] == "TestBot/2.0 (+https://example.test)"


@pytest.fixture
async def forward_proxy(site: RunningSite) -> AsyncIterator[tuple[str, list[str]]]:
    """A minimal HTTP forward proxy that sends every request to the fixture site."""
    request_lines: list[str] = []
    target = httpx.URL(site.url)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        first, *headers = head.split("\r\n")
        request_lines.append(first)
        method, url, _ = first.split(" ")
        kept = [h for h in headers if h and not h.lower().startswith(("connection", "proxy-"))]
        upstream_reader, upstream = await asyncio.open_connection(target.host, target.port)
        path = httpx.URL(url).raw_path.decode()
        request = [f"{method} {path} HTTP/1.1", *kept, "Connection: close", "", ""]
        upstream.write("\r\n".join(request).encode())
        writer.write(await upstream_reader.read())
        await writer.drain()
        upstream.close()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", request_lines
    server.close()
    await server.wait_closed()


async def test_requests_go_through_the_configured_proxy(
    forward_proxy: tuple[str, list[str]],
) -> None:
    proxy_url, request_lines = forward_proxy
    async with fetcher(FetchSettings(proxy_url=proxy_url)) as f:
        page = await f.fetch("http://shop.invalid/_fixture/headers")
    assert page is not None and page.json()["headers"]["host"] == "shop.invalid"
    assert request_lines == [
        "GET http://shop.invalid/robots.txt HTTP/1.1",
        "GET http://shop.invalid/_fixture/headers HTTP/1.1",
    ]


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- the runtime, as a real crawler process -------------------------------------------------

EMITTING_CRAWLER = """
import asyncio
from trawl.crawlers.sdk import run_crawler

async def crawl(ctx):
    ctx.emit({"id": 1, "text": "small"})
    ctx.emit({"id": 2, "text": "x" * (1024 * 1024)})
    ctx.emit({"id": 3, "text": "small"})
    ctx.log("warning", "two of three")

run_crawler(crawl)
"""


async def test_emit_writes_envelopes_and_rejects_oversized_records_loudly(
    tmp_path: Path,
) -> None:
    run = await run_crawler_process(
        ["-c", EMITTING_CRAWLER], tmp_path, {}, TRAWL_RECORD_KEY_FIELDS="id"
    )
    assert run.returncode == 0, run.stderr
    assert run.records == [{"id": 1, "text": "small"}, {"id": 3, "text": "small"}]
    envelope = run.envelopes[1]
    assert envelope["sequence"] == 2 and envelope["attempt"] == 1
    assert envelope["record_id"] == record_id({"id": 3}, ["id"])
    assert (envelope["run_id"], envelope["organization_id"]) == ("run-test", "org-test")
    assert run.stats == {"pages": 0, "records": 2, "errors": 1, "bytes": 0, "skipped": 0}
    [rejected] = run.messages("ERROR")
    assert rejected.startswith("record id=2 not emitted: record ")
    assert run.messages("WARNING") == ["two of three"]
    assert run.buffer_closed


FAILING_CRAWLER = """
from trawl.crawlers.sdk import run_crawler

async def crawl(ctx):
    ctx.emit({"n": 1})
    raise RuntimeError("the site changed its markup")

run_crawler(crawl, parameters_schema={"type": "object", "properties": {"n": {"type": "integer"}}})
"""


async def test_a_crashing_crawl_exits_1_with_the_reason_last_and_closes_the_buffer(
    tmp_path: Path,
) -> None:
    run = await run_crawler_process(["-c", FAILING_CRAWLER], tmp_path, {"n": 1})
    assert run.returncode == 1
    assert run.reason == "RuntimeError: the site changed its markup"
    assert any("Traceback" in line for line in run.stderr)
    assert run.stats["errors"] == 1 and run.stats["records"] == 1
    assert run.buffer_closed and len(run.records) == 1


async def test_invalid_parameters_exit_2_before_crawling(tmp_path: Path) -> None:
    run = await run_crawler_process(["-c", FAILING_CRAWLER], tmp_path, {"n": "one"})
    assert run.returncode == 2
    assert run.reason == "invalid parameters: n: 'one' is not of type 'integer'"
    assert run.records == [] and run.buffer_closed
    assert run.stats["errors"] == 1


ENDLESS_CRAWLER = """
from trawl.crawlers.sdk import run_crawler

async def crawl(ctx):
    ctx.emit({"n": 1})
    ctx.emit({"n": 2})
    n = 0
    while True:
        n += 1
        await ctx.fetch(ctx.params["url"] + f"?delay=0.2&n={n}")
        if n == 2:
            ctx.log("INFO", "crawling")

run_crawler(crawl)
"""


async def test_sigterm_stops_fetching_closes_the_buffer_and_exits_143(
    site: RunningSite, tmp_path: Path
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        ENDLESS_CRAWLER,
        env=crawler_env(tmp_path, {"url": f"{site.url}/_fixture/slow"}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 10)
    assert json.loads(line)["message"] == "crawling"
    await asyncio.sleep(0.6)  # the stats file is published while running
    assert json.loads((tmp_path / "stats.json").read_text())["records"] == 2

    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 5)
    requests_at_exit = site.state.requested("/_fixture/slow")

    assert proc.returncode == 143 and time.monotonic() - started < 10
    assert err.decode().splitlines()[-1] == "stopped by SIGTERM"
    assert (tmp_path / "buffer" / "DONE").exists()
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["records"] == 2 and stats["pages"] >= 2
    await asyncio.sleep(0.3)
    assert site.state.requested("/_fixture/slow") == requests_at_exit
