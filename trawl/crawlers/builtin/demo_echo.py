"""`demo.echo`: the built-in crawler that fetches nothing and emits what it is told to.

It exercises the whole run path (launch, records into the buffer, stats, logs, failure,
retries, stop) without the network, so tests and a fresh checkout can run reports end to
end. Run as `python -m trawl.crawlers.builtin.demo_echo`; it is an SDK crawler like any
other, so everything comes from the TRAWL_* environment the runner sets."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trawl.crawlers.sdk import CrawlContext, CrawlError, run_crawler

SERVICE_CODE = "demo.echo"
ENTRY_POINT = "trawl.crawlers.builtin.demo_echo"
DEFAULT_FAIL_MESSAGE = "demo.echo was told to fail"

PARAMETERS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "demo.echo parameters",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "records": {
            "type": "array",
            "items": {"type": "object"},
            "default": [],
            "description": "Records to emit as given.",
        },
        "count": {
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": 'When records is empty, emit this many {"n": i, "text": "record i"}.',
        },
        "delay_seconds": {"type": "number", "minimum": 0, "default": 0},
        "fail": {
            "type": "boolean",
            "default": False,
            "description": "Exit non-zero after emitting.",
        },
        "fail_message": {"type": "string", "default": DEFAULT_FAIL_MESSAGE},
        "fail_attempts": {
            "type": "integer",
            "minimum": 0,
            "description": "With fail: fail only while the run attempt is at most this.",
        },
        "exit_code": {"type": "integer", "minimum": 1, "maximum": 255, "default": 1},
        "hang": {
            "type": "boolean",
            "default": False,
            "description": "After emitting, wait until stopped.",
        },
        "ignore_sigterm": {
            "type": "boolean",
            "default": False,
            "description": "Tests only: ignore SIGTERM so a stop has to force the crawler.",
        },
    },
}

RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "demo.echo record",
    "type": "object",
    "properties": {"n": {"type": "integer"}, "text": {"type": "string"}},
    "additionalProperties": True,
}


@dataclass(frozen=True, slots=True)
class _Parameters:
    records: list[dict[str, Any]]
    count: int
    delay_seconds: float
    fail: bool
    fail_message: str
    fail_attempts: int | None
    exit_code: int
    hang: bool
    ignore_sigterm: bool

    @classmethod
    def from_params(cls, data: dict[str, Any]) -> _Parameters:
        """`data` was validated against PARAMETERS_SCHEMA by the runtime."""
        return cls(
            records=data.get("records", []),
            count=data.get("count", 0),
            delay_seconds=float(data.get("delay_seconds", 0)),
            fail=data.get("fail", False),
            fail_message=data.get("fail_message", DEFAULT_FAIL_MESSAGE),
            fail_attempts=data.get("fail_attempts"),
            exit_code=data.get("exit_code", 1),
            hang=data.get("hang", False),
            ignore_sigterm=data.get("ignore_sigterm", False),
        )

    def fails_on(self, attempt: int) -> bool:
        return self.fail and (self.fail_attempts is None or attempt <= self.fail_attempts)


def _records(params: _Parameters) -> Iterator[dict[str, Any]]:
    if params.records:
        yield from params.records
        return
    for n in range(params.count):
        yield {"n": n, "text": f"record {n}"}


def _ignore_sigterm() -> None:
    """Tests only: take SIGTERM away from the SDK so a stop has to force the crawler."""
    asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


async def crawl(ctx: CrawlContext) -> None:
    params = _Parameters.from_params(ctx.params)
    if params.ignore_sigterm:
        _ignore_sigterm()
    for index, record in enumerate(_records(params)):
        if index and params.delay_seconds:
            await asyncio.sleep(params.delay_seconds)
        if not ctx.emit(record):
            continue
        # demo.echo fetches nothing: its bytes are the bytes it echoes, as JSON lines.
        size = len(json.dumps(record, separators=(",", ":"))) + 1
        ctx.counters.bytes += size
        # A plain stdout line is an INFO log line for the supervisor, like ctx.log's.
        print(f"emitted record seq={index + 1} bytes={size} run_id={ctx.run.run_id}", flush=True)
    if params.hang:
        await asyncio.Event().wait()  # nothing sets it: only a stop ends the crawl
    if params.fails_on(ctx.run.attempt):
        raise CrawlError(params.fail_message, exit_code=params.exit_code)


if __name__ == "__main__":
    run_crawler(crawl, parameters_schema=PARAMETERS_SCHEMA)
