"""The CrawlContext: everything a crawler is handed — its parameters, fetching, `emit` and
`log` — and nothing of the platform behind it."""

from __future__ import annotations

from typing import Any

from trawl.crawlers.buffer import BufferWriter, RecordTooLarge, RunIdentity, envelope, record_id
from trawl.crawlers.sdk.fetcher import Fetcher
from trawl.crawlers.sdk.response import Page
from trawl.crawlers.sdk.telemetry import Counters, LogFn

# How much of a record names it in a log line when it has no key fields.
_PREVIEW_CHARS = 120


class CrawlContext:
    """Given to `crawl(ctx)`; one per run attempt."""

    def __init__(
        self,
        *,
        params: dict[str, Any],
        identity: RunIdentity,
        service_code: str,
        fetcher: Fetcher,
        buffer: BufferWriter,
        counters: Counters,
        log: LogFn,
        key_fields: tuple[str, ...] = (),
    ) -> None:
        self.params = params
        self.run = identity
        self.service_code = service_code
        self.fetcher = fetcher
        self.counters = counters
        self.key_fields = key_fields
        self._buffer = buffer
        self._log = log
        self._sequence = 0

    @property
    def pages(self) -> int:
        return self.counters.pages

    @property
    def records(self) -> int:
        return self.counters.records

    @property
    def errors(self) -> int:
        return self.counters.errors

    @property
    def bytes(self) -> int:
        return self.counters.bytes

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, Any] | None = None,
        json: Any = None,
        dedupe: bool = True,
    ) -> Page | None:
        """The page (2xx), or None: a duplicate, a robots.txt skip, stopping, or a failure
        (already counted as an error and logged). `ctx.fetcher.request` tells them apart."""
        return await self.fetcher.fetch(
            url, method=method, params=params, headers=headers, data=data, json=json, dedupe=dedupe
        )

    def log(self, level: str, message: str) -> None:
        """level: DEBUG, INFO, WARNING or ERROR; one line in the run's logs."""
        self._log(level, message)

    def error(self, message: str) -> None:
        """Counts an error of the crawl's own (not a fetch failure) and logs it."""
        self.counters.errors += 1
        self._log("ERROR", message)

    def emit(self, record: dict[str, Any]) -> bool:
        """Appends one record to the run's buffer; False (and an error) when it is too large
        or is not JSON (NaN, infinity, unencodable text): one bad record never ends the run."""
        if not isinstance(record, dict):
            raise TypeError(f"emit() takes a dict, not {type(record).__name__}")
        try:
            rid = record_id(record, list(self.key_fields) or None)
            self._buffer.append(envelope(self.run, record, self._sequence + 1, rid))
        except (RecordTooLarge, ValueError, TypeError) as exc:
            self.counters.errors += 1
            self._log("ERROR", f"record {self._name(record)} not emitted: {exc}")
            return False
        self._sequence += 1
        self.counters.records += 1
        return True

    def _name(self, record: dict[str, Any]) -> str:
        keys = [f"{k}={record[k]!r}" for k in self.key_fields if k in record]
        if keys:
            return ", ".join(keys)
        return repr({k: record[k] for k in list(record)[:4]})[:_PREVIEW_CHARS]
