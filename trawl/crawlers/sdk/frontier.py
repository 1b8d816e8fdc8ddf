"""A crawl frontier: the URLs still to visit, worked through by a pool of tasks.

The fetcher already limits each host; the pool only bounds how many pages are being
handled at once. A URL is visited once (normalised), and a handler that raises costs one
error and a log line, not the run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from trawl.crawlers.sdk.context import CrawlContext
from trawl.crawlers.sdk.urls import normalize_url


@dataclass(frozen=True, slots=True)
class Visit:
    url: str
    depth: int = 0
    kind: str = "page"


Handler = Callable[[Visit], Awaitable[None]]


class Frontier:
    def __init__(
        self,
        ctx: CrawlContext,
        handle: Handler,
        *,
        workers: int = 8,
        max_visits: int | None = None,
    ) -> None:
        self._ctx = ctx
        self._handle = handle
        self._workers = max(1, workers)
        self._max = max_visits
        self._queue: asyncio.Queue[Visit] = asyncio.Queue()
        self._seen: set[str] = set()
        self._limit_logged = False

    @property
    def added(self) -> int:
        return len(self._seen)

    def add(self, url: str, *, depth: int = 0, kind: str = "page") -> bool:
        """Queues a visit; False when the URL was queued before or the limit is reached."""
        key = normalize_url(url)
        if key in self._seen:
            return False
        if self._max is not None and len(self._seen) >= self._max:
            if not self._limit_logged:
                self._limit_logged = True
                self._ctx.log("INFO", f"reached the limit of {self._max} pages; not queuing more")
            return False
        self._seen.add(key)
        self._queue.put_nowait(Visit(url, depth, kind))
        return True

    async def run(self) -> None:
        """Returns when every queued visit (including those queued meanwhile) is handled."""
        tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]
        try:
            await self._queue.join()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _work(self) -> None:
        while True:
            visit = await self._queue.get()
            try:
                await self._handle(visit)
            except Exception as exc:
                self._ctx.error(f"{visit.kind} {visit.url}: {type(exc).__name__}: {exc}")
            finally:
                self._queue.task_done()
