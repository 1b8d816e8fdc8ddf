"""Runs a crawler process: `run_crawler(crawl)` is the whole `__main__` of a crawler.

It reads the environment contract, validates the parameters against the code's schema,
hands `crawl` a CrawlContext, publishes the counters to the stats file while it runs and at
the end, and always closes the record buffer so the forwarder knows no more records come.
Exit codes: 0 done; 2 invalid parameters or environment; 128+N stopped by signal N
(SIGTERM: 143); the CrawlError's code, else 1, when the crawl raised. On failure the last
stderr line is the reason, which the runner shows as the run's failure reason."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from trawl.crawlers.buffer import BufferWriter
from trawl.crawlers.sdk.context import CrawlContext
from trawl.crawlers.sdk.environment import RuntimeEnvironment, run_dir_of
from trawl.crawlers.sdk.fetcher import Fetcher, FetchSettings
from trawl.crawlers.sdk.telemetry import Counters, JsonLineLogger, LogFn, StatsFile

Crawl = Callable[[CrawlContext], Awaitable[None]]
STATS_INTERVAL_SECONDS = 0.5
INVALID_EXIT_CODE = 2

# Parameter names the runtime itself honours in any code's parameters (declare them in the
# code's PARAMETERS_SCHEMA to offer them): they override the platform's defaults.
FETCH_PARAMETER_PROPERTIES: dict[str, Any] = {
    "ignore_robots": {
        "type": "boolean",
        "default": False,
        "description": "Fetch pages robots.txt disallows (only with the site owner's consent).",
    },
    "user_agent": {"type": "string", "minLength": 1, "description": "User-Agent header."},
    "proxy": {"type": "string", "minLength": 1, "description": "Proxy URL for every request."},
}


class CrawlError(Exception):
    """Ends the run as failed: the message becomes its failure reason."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class InvalidParameters(ValueError):
    """The report's parameters do not fit the code's schema; the message says where."""


@dataclass(frozen=True, slots=True)
class _Ending:
    exit_code: int
    reason: str = ""
    status: str = "done"


def parse_parameters(raw: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidParameters(f"parameters are not JSON: {exc}") from exc
    if schema is not None:
        # Formats checked too, so a bad "regex" fails here and not mid-crawl.
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        error = best_match(validator.iter_errors(data))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "parameters"
            raise InvalidParameters(f"{where}: {error.message}")
    if not isinstance(data, dict):
        raise InvalidParameters("parameters: must be a JSON object")
    return data


def fetch_settings(base: FetchSettings, params: Mapping[str, Any]) -> FetchSettings:
    """The platform's defaults, overridden by the report's own user_agent/proxy/robots."""
    settings = base
    if isinstance(params.get("user_agent"), str) and params["user_agent"]:
        settings = replace(settings, user_agent=params["user_agent"])
    if isinstance(params.get("proxy"), str) and params["proxy"]:
        settings = replace(settings, proxy_url=params["proxy"])
    if params.get("ignore_robots") is True:
        settings = replace(settings, obey_robots=False)
    return settings


class _StopSignal:
    """Cancels the crawl on SIGTERM/SIGINT and remembers which signal asked."""

    def __init__(self, task: asyncio.Task[None], fetcher: Fetcher) -> None:
        self.task = task
        self.fetcher = fetcher
        self.signal: signal.Signals | None = None

    def __call__(self, sig: signal.Signals) -> None:
        self.signal = sig
        self.fetcher.stop()
        self.task.cancel()

    def ending(self) -> _Ending:
        assert self.signal is not None
        return _Ending(128 + self.signal, f"stopped by {self.signal.name}", "stopped")


async def _publish_stats(stats: StatsFile, counters: Counters) -> None:
    while True:
        await asyncio.sleep(STATS_INTERVAL_SECONDS)
        stats.write(counters)


async def _supervise(crawl: Crawl, ctx: CrawlContext, stats: StatsFile) -> _Ending:
    """Runs the crawl to its end (or a stop signal) and says how it ended."""
    loop = asyncio.get_running_loop()

    async def run() -> None:
        await crawl(ctx)

    task = asyncio.create_task(run())
    stop = _StopSignal(task, ctx.fetcher)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    publisher = asyncio.create_task(_publish_stats(stats, ctx.counters))
    try:
        await task
    except asyncio.CancelledError:
        if stop.signal is None:
            raise
    except CrawlError as exc:
        ctx.counters.errors += 1
        return _Ending(exc.exit_code, str(exc), "failed")
    except Exception as exc:
        ctx.counters.errors += 1
        traceback.print_exc()
        return _Ending(1, f"{type(exc).__name__}: {exc}", "failed")
    finally:
        publisher.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    # A crawl that swallowed the cancellation was still stopped.
    return stop.ending() if stop.signal is not None else _Ending(0)


def _finish(
    ending: _Ending,
    env: RuntimeEnvironment,
    buffer: BufferWriter,
    counters: Counters,
    log: LogFn,
) -> int:
    buffer.close()
    StatsFile(env.stats_path).write(counters)
    totals = " ".join(f"{key}={value}" for key, value in counters.as_dict().items())
    log(
        "INFO" if ending.exit_code == 0 else "ERROR",
        f"{env.service_code} {ending.status} run_id={env.identity.run_id} "
        f"attempt={env.identity.attempt} {totals}",
    )
    if ending.reason:
        # Last on stderr: the runner takes the last stderr line as the failure reason.
        print(ending.reason, file=sys.stderr, flush=True)
    return ending.exit_code


async def execute(
    crawl: Crawl, env: RuntimeEnvironment, parameters_schema: dict[str, Any] | None = None
) -> int:
    """The whole life of a crawler process; returns its exit code."""
    counters = Counters()
    log = JsonLineLogger(min_level=env.log_level)
    stats = StatsFile(env.stats_path)
    buffer = BufferWriter(env.buffer_dir, max_records=env.chunk_records, max_bytes=env.chunk_bytes)
    stats.write(counters)
    try:
        params = parse_parameters(env.raw_parameters, parameters_schema)
    except InvalidParameters as exc:
        counters.errors += 1
        return _finish(
            _Ending(INVALID_EXIT_CODE, f"invalid parameters: {exc}", "failed"),
            env,
            buffer,
            counters,
            log,
        )
    async with Fetcher(fetch_settings(env.fetch, params), counters, log) as fetcher:
        ctx = CrawlContext(
            params=params,
            identity=env.identity,
            service_code=env.service_code,
            fetcher=fetcher,
            buffer=buffer,
            counters=counters,
            log=log,
            key_fields=env.record_key_fields,
        )
        ending = await _supervise(crawl, ctx, stats)
    return _finish(ending, env, buffer, counters, log)


def _misconfigured(environ: Mapping[str, str], exc: ValueError) -> NoReturn:
    """Even a crawler that cannot start tells the forwarder no records will come."""
    BufferWriter(run_dir_of(environ) / "buffer").close()
    print(f"invalid crawler environment: {exc}", file=sys.stderr, flush=True)
    sys.exit(INVALID_EXIT_CODE)


def run_crawler(crawl: Crawl, *, parameters_schema: dict[str, Any] | None = None) -> NoReturn:
    """The `if __name__ == "__main__":` of every crawler; exits the process."""
    # Line-buffered even into a pipe, so the supervisor gets each line as it is written.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    try:
        env = RuntimeEnvironment.from_env(os.environ)
    except ValueError as exc:
        _misconfigured(os.environ, exc)
    sys.exit(asyncio.run(execute(crawl, env, parameters_schema)))
