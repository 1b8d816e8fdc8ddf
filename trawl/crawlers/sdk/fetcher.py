"""The polite async fetcher every crawler fetches through (httpx underneath).

Per host (scheme, name and port): at most `domain_concurrency` requests in flight and at
least `domain_delay_seconds` between two request starts (robots.txt `Crawl-delay` can raise
it); robots.txt (RFC 9309, see trawl.crawlers.sdk.robots) read once and obeyed unless the
report says otherwise. Redirects are followed here, hop by hop, so every hop is a request of
its own: checked against its host's robots.txt, paced by its host's limits, de-duplicated.
Retries with exponential backoff and full jitter on 429, 5xx and network errors, honouring
`Retry-After`. One cookie jar per fetcher, i.e. per run. A request already made (same
method, normalised URL and body), or redirected to, is not made again.

`fetch()` answers the page, or None when it was not fetched: a duplicate, disallowed by
robots.txt, stopping, or failed (failures are counted as errors and logged). `request()`
answers a FetchResult that tells those apart."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from trawl.crawlers.sdk.response import Page
from trawl.crawlers.sdk.retry import backoff_seconds, is_retryable_status, retry_after_seconds
from trawl.crawlers.sdk.robots import AgentRules, RobotsTxt, product_token
from trawl.crawlers.sdk.telemetry import Counters, LogFn
from trawl.crawlers.sdk.urls import origin, request_key

DEFAULT_USER_AGENT = "TrawlBot/1.0 (+https://trawl.dev/bot)"
# A robots.txt Crawl-delay beyond this would stall a run; we cap rather than obey blindly.
MAX_CRAWL_DELAY_SECONDS = 30.0
# RFC 9309 §2.3.1.2: follow at least five redirects of robots.txt, then treat it as absent.
MAX_ROBOTS_REDIRECTS = 5

Outcome = httpx.Response | Exception


@dataclass(frozen=True, slots=True)
class FetchSettings:
    user_agent: str = DEFAULT_USER_AGENT
    proxy_url: str | None = None
    domain_concurrency: int = 4
    domain_delay_seconds: float = 0.0
    max_retries: int = 4
    obey_robots: bool = True
    timeout_seconds: float = 30.0
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 30.0
    retry_after_cap_seconds: float = 60.0
    max_redirects: int = 20


class FetchStatus(StrEnum):
    OK = "ok"
    DUPLICATE = "duplicate"
    DISALLOWED = "disallowed"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What became of one request; `page` is set for OK and for HTTP failures (e.g. a 404)."""

    url: str
    status: FetchStatus
    page: Page | None = None
    reason: str = ""
    attempts: int = 0


class _Host:
    """Politeness state of one origin: its in-flight slots, its pace and its robots.txt."""

    def __init__(self, name: str, concurrency: int, interval: float) -> None:
        self.origin = name
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        self.interval = interval
        self.next_start = 0.0
        self.robots: AgentRules | None = None
        self.robots_lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        # No await between reading and moving next_start, so concurrent callers queue up.
        now = asyncio.get_running_loop().time()
        start = max(now, self.next_start)
        self.next_start = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)

    def defer(self, seconds: float) -> None:
        """The server asked us to slow down: no request to this host starts before then."""
        until = asyncio.get_running_loop().time() + seconds
        self.next_start = max(self.next_start, until)


def _silent(level: str, message: str) -> None:
    return None


def _describe(outcome: Outcome) -> str:
    if isinstance(outcome, Exception):
        return f"{type(outcome).__name__}: {outcome}" if str(outcome) else type(outcome).__name__
    return f"HTTP {outcome.status_code}"


class Fetcher:
    """One per run; use as an async context manager (or call `aclose`)."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        counters: Counters | None = None,
        log: LogFn | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings or FetchSettings()
        self.counters = counters if counters is not None else Counters()
        self._log: LogFn = log if log is not None else _silent
        self._rng = rng or random.Random()
        self._hosts: dict[str, _Host] = {}
        self._seen: set[str] = set()
        self._stopped = False
        self._robots_token = product_token(self.settings.user_agent)
        # trust_env off: the proxy comes from the run's settings, never from stray env vars.
        # Redirects are ours to follow (see `_follow`): httpx would skip robots.txt on them.
        self.client = httpx.AsyncClient(
            headers={"User-Agent": self.settings.user_agent},
            proxy=self.settings.proxy_url or None,
            timeout=self.settings.timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def stop(self) -> None:
        """No new request starts after this (the run is being stopped)."""
        self._stopped = True

    def seen(self, url: str, method: str = "GET") -> bool:
        return request_key(method, url) in self._seen

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        dedupe: bool = True,
    ) -> Page | None:
        """The page when fetched with a 2xx status, else None (see `request` for why)."""
        result = await self.request(
            url,
            method=method,
            params=params,
            headers=headers,
            data=data,
            json=json,
            content=content,
            dedupe=dedupe,
        )
        return result.page if result.status is FetchStatus.OK else None

    async def request(
        self,
        url: str,
        *,
        method: str = "GET",
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        dedupe: bool = True,
    ) -> FetchResult:
        """Fetches once per (method, URL, body) unless `dedupe=False`; never raises for HTTP."""
        if self._stopped:
            return FetchResult(url, FetchStatus.STOPPED, reason="the run is stopping")
        try:
            request = self.client.build_request(
                method, url, params=params, headers=headers, data=data, json=json, content=content
            )
        except (httpx.InvalidURL, ValueError) as exc:
            return self._fail(method, url, f"invalid URL: {exc}", 0)
        target = str(request.url)
        if dedupe:
            key = request_key(method, target, request.content)
            if key in self._seen:
                return FetchResult(target, FetchStatus.DUPLICATE, reason="already requested")
            self._seen.add(key)
        return await self._follow(method, target, request, dedupe)

    async def _follow(
        self, method: str, target: str, request: httpx.Request, dedupe: bool
    ) -> FetchResult:
        """Sends `request` and follows its redirects, each hop checked as a request of its
        own; the result is about `target`, the URL first asked for."""
        limit = max(0, self.settings.max_redirects)
        chain = {_key(request)}  # a hop back into the chain (a cookie check) is no duplicate
        for hops in range(limit + 1):
            url = str(request.url)
            host = self._host(url)
            if self.settings.obey_robots and not await self._allowed(host, url):
                return self._skip(target, url)
            outcome, attempts = await self._send(host, request)
            following = None if isinstance(outcome, Exception) else outcome.next_request
            if following is None:
                return self._settle(method, target, outcome, attempts)
            if hops == limit:
                break
            if self._stopped:
                return FetchResult(target, FetchStatus.STOPPED, reason="the run is stopping")
            request = following
            if request.url.scheme not in ("http", "https"):
                reason = f"UnsupportedProtocol: redirected to {request.url}"
                return self._fail(method, target, reason, attempts)
            await request.aread()  # a redirect request's body (307/308) is a stream
            key = _key(request)
            if dedupe and key in self._seen and key not in chain:
                reason = f"redirected to {request.url}, already requested"
                return FetchResult(target, FetchStatus.DUPLICATE, reason=reason)
            if dedupe:
                self._seen.add(key)
            chain.add(key)
        reason = f"TooManyRedirects: more than {limit} redirects"
        return self._fail(method, target, reason, attempts)

    def _skip(self, target: str, url: str) -> FetchResult:
        self.counters.skipped += 1
        self._log("INFO", f"skipped {url}: disallowed by robots.txt")
        reason = "disallowed by robots.txt"
        if url != target:
            reason = f"redirected to {url}, {reason}"
        return FetchResult(target, FetchStatus.DISALLOWED, reason=reason)

    def _host(self, url: str) -> _Host:
        name = origin(url)
        if name not in self._hosts:
            s = self.settings
            self._hosts[name] = _Host(name, s.domain_concurrency, s.domain_delay_seconds)
        return self._hosts[name]

    def _settle(self, method: str, url: str, outcome: Outcome, attempts: int) -> FetchResult:
        if isinstance(outcome, Exception):
            return self._fail(method, url, _describe(outcome), attempts)
        page = Page.from_httpx(outcome, url)
        if page.ok:
            self.counters.pages += 1
            return FetchResult(url, FetchStatus.OK, page, attempts=attempts)
        return self._fail(method, url, _describe(outcome), attempts, page)

    def _fail(
        self, method: str, url: str, reason: str, attempts: int, page: Page | None = None
    ) -> FetchResult:
        self.counters.errors += 1
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        self._log("ERROR", f"{method} {url} failed{tries}: {reason}")
        return FetchResult(url, FetchStatus.FAILED, page, reason, attempts)

    async def _send(self, host: _Host, request: httpx.Request) -> tuple[Outcome, int]:
        retries = max(0, self.settings.max_retries)
        for attempt in range(retries + 1):
            outcome = await self._attempt(host, request)
            delay = self._retry_delay(host, outcome, attempt)
            if delay is None or attempt == retries or self._stopped:
                return outcome, attempt + 1
            self._log(
                "INFO",
                f"retrying {request.method} {request.url} in {delay:.2f} s after "
                f"{_describe(outcome)} (retry {attempt + 1} of {retries})",
            )
            await asyncio.sleep(delay)
        raise AssertionError("the retry loop always returns")

    async def _attempt(self, host: _Host, request: httpx.Request) -> Outcome:
        async with host.semaphore:
            await host.wait_turn()
            try:
                response = await self.client.send(request)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                return exc
        self.counters.bytes += len(response.content)
        return response

    def _retry_delay(self, host: _Host, outcome: Outcome, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when this outcome is final."""
        s = self.settings
        backoff = backoff_seconds(attempt, s.backoff_base_seconds, s.backoff_cap_seconds, self._rng)
        if isinstance(outcome, Exception):
            transient = isinstance(outcome, httpx.TransportError) and not isinstance(
                outcome, httpx.UnsupportedProtocol
            )
            return backoff if transient else None
        if not is_retryable_status(outcome.status_code):
            return None
        after = retry_after_seconds(outcome.headers.get("Retry-After"))
        if after is None:
            return backoff
        after = min(after, s.retry_after_cap_seconds)
        host.defer(after)
        return after

    async def _allowed(self, host: _Host, url: str) -> bool:
        if host.robots is None:
            async with host.robots_lock:
                if host.robots is None:
                    host.robots = await self._load_robots(host)
        return host.robots.allowed(url)

    async def _load_robots(self, host: _Host) -> AgentRules:
        """RFC 9309: a 4xx, or more than five redirects, means no rules; an unreachable file
        (5xx, 429, network) means the whole host is off limits."""
        url = f"{host.origin}/robots.txt"
        outcome = await self._get_robots(host, url)
        if (
            isinstance(outcome, Exception)
            or outcome.status_code >= 500
            or (outcome.status_code == 429)
        ):
            rules = AgentRules.disallow_all()
            self._log(
                "WARNING",
                f"robots.txt of {host.origin} is unreachable ({_describe(outcome)}); "
                "not crawling that host",
            )
        elif outcome.next_request is not None:
            rules = AgentRules.allow_all()
            self._log(
                "WARNING",
                f"robots.txt of {host.origin} redirects more than {MAX_ROBOTS_REDIRECTS} "
                "times; crawling that host as if it had none",
            )
        elif outcome.status_code >= 400:
            rules = AgentRules.allow_all()
        else:
            rules = RobotsTxt.parse(outcome.content).for_agent(self._robots_token)
            if rules.crawl_delay:
                delay = min(rules.crawl_delay, MAX_CRAWL_DELAY_SECONDS)
                host.interval = max(host.interval, delay)
        self._log("DEBUG", f"read {url}: {_describe(outcome)}")
        return rules

    async def _get_robots(self, host: _Host, url: str) -> Outcome:
        """The robots.txt response after up to five redirects (to any host, each paced by
        its own host); a response still redirecting has `next_request` set."""
        outcome, _ = await self._send(host, self.client.build_request("GET", url))
        for _hop in range(MAX_ROBOTS_REDIRECTS):
            if isinstance(outcome, Exception) or outcome.next_request is None:
                return outcome
            request = outcome.next_request
            outcome, _ = await self._send(self._host(str(request.url)), request)
        return outcome


def _key(request: httpx.Request) -> str:
    return request_key(request.method, str(request.url), request.content)
