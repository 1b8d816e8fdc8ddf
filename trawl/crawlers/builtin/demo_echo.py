"""`demo.echo`: the built-in crawler that fetches nothing and emits what it is told to.

It exercises the whole run path (launch, records, stats, logs, failure, retries, stop)
without the network, so tests and a fresh checkout can run reports end to end. Run as
`python -m trawl.crawlers.builtin.demo_echo`; everything comes from the TRAWL_* environment
the runner sets (see `trawl.crawlers.runners.supervisor.crawler_environment`)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SERVICE_CODE = "demo.echo"
ENTRY_POINT = "trawl.crawlers.builtin.demo_echo"
DEFAULT_FAIL_MESSAGE = "demo.echo was told to fail"
SIGTERM_EXIT_CODE = 128 + signal.SIGTERM
# Stats are rewritten at most this often while emitting, and always at the end.
STATS_INTERVAL_SECONDS = 0.2

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


class _Terminated(BaseException):
    """Raised by the SIGTERM handler; a BaseException so no `except Exception` swallows it."""


@dataclass(frozen=True, slots=True)
class _Context:
    run_id: str
    attempt: int
    raw_parameters: str
    output: Path
    stats: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> _Context:
        run_dir = Path(env.get("TRAWL_RUN_DIR", "."))
        return cls(
            run_id=env.get("TRAWL_RUN_ID", "local"),
            attempt=int(env.get("TRAWL_RUN_ATTEMPT", "1")),
            raw_parameters=env.get("TRAWL_RUN_PARAMETERS", "{}"),
            output=Path(env.get("TRAWL_RUN_OUTPUT", run_dir / "records.jsonl")),
            stats=Path(env.get("TRAWL_RUN_STATS", run_dir / "stats.json")),
        )


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

    def fails_on(self, attempt: int) -> bool:
        return self.fail and (self.fail_attempts is None or attempt <= self.fail_attempts)


def parse_parameters(raw: str) -> _Parameters:
    """Validates against PARAMETERS_SCHEMA; ValueError says what is wrong, for people."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"parameters are not JSON: {exc}") from exc
    error = best_match(Draft202012Validator(PARAMETERS_SCHEMA).iter_errors(data))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "parameters"
        raise ValueError(f"{where}: {error.message}")
    return _Parameters(
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


class _Stats:
    """The run's counters, published to the stats file the runner reads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts = {"pages": 0, "records": 0, "errors": 0, "bytes": 0}
        self._written_at = 0.0

    def write(self, force: bool = True) -> None:
        now = time.monotonic()
        if not force and now - self._written_at < STATS_INTERVAL_SECONDS:
            return
        self._written_at = now
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self.counts), encoding="utf-8")
        os.replace(tmp, self.path)


def _records(params: _Parameters) -> Iterator[dict[str, Any]]:
    if params.records:
        yield from params.records
        return
    for n in range(params.count):
        yield {"n": n, "text": f"record {n}"}


def _emit_all(ctx: _Context, params: _Parameters, stats: _Stats) -> None:
    ctx.output.parent.mkdir(parents=True, exist_ok=True)
    with ctx.output.open("a", encoding="utf-8") as sink:
        for index, record in enumerate(_records(params)):
            if index and params.delay_seconds:
                time.sleep(params.delay_seconds)
            line = json.dumps(record, separators=(",", ":")) + "\n"
            sink.write(line)
            sink.flush()
            stats.counts["records"] += 1
            stats.counts["bytes"] += len(line.encode("utf-8"))
            stats.write(force=False)
            print(f"emitted record seq={index + 1} bytes={len(line)} run_id={ctx.run_id}")


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def _summary(ctx: _Context, stats: _Stats, status: str) -> None:
    counts = " ".join(f"{key}={value}" for key, value in stats.counts.items())
    print(f"demo.echo {status} run_id={ctx.run_id} attempt={ctx.attempt} {counts}", flush=True)


def _crawl(ctx: _Context, params: _Parameters, stats: _Stats) -> int:
    _emit_all(ctx, params, stats)
    stats.write()
    while params.hang:
        time.sleep(3600)
    if params.fails_on(ctx.attempt):
        stats.counts["errors"] += 1
        stats.write()
        _summary(ctx, stats, "failed")
        print(params.fail_message, file=sys.stderr, flush=True)
        return params.exit_code
    _summary(ctx, stats, "done")
    return 0


def run(ctx: _Context) -> int:
    stats = _Stats(ctx.stats)
    try:
        params = parse_parameters(ctx.raw_parameters)
    except ValueError as exc:
        stats.counts["errors"] += 1
        stats.write()
        print(f"invalid parameters: {exc}", file=sys.stderr, flush=True)
        return 2
    signal.signal(signal.SIGTERM, signal.SIG_IGN if params.ignore_sigterm else _on_sigterm)
    try:
        return _crawl(ctx, params, stats)
    except _Terminated:
        stats.write()
        _summary(ctx, stats, "stopped")
        print("stopped by SIGTERM", file=sys.stderr, flush=True)
        return SIGTERM_EXIT_CODE


def main() -> int:
    # Line-buffered even into a pipe, so the supervisor captures each line as it happens.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    return run(_Context.from_env(os.environ))


if __name__ == "__main__":
    sys.exit(main())
