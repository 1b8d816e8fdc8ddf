"""The record forwarder beside a local crawler, run the way Kubernetes runs a sidecar: started
with the crawler, restarted with a growing delay whenever it dies before its work is done, and
waited for after the crawler ends, because a run is not finished before its records are in
the stream. The wait is bounded (TRAWL_FORWARDER_DRAIN_SECONDS); past it the forwarder is
killed and the attempt reports its records as not delivered."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trawl.crawlers.buffer_reader import open_chunks, sealed_chunks
from trawl.crawlers.forwarder.layout import RECORDS_DRAINED
from trawl.crawlers.forwarder.progress import read_progress
from trawl.crawlers.runners.attempt import AttemptFiles, ProcessRef, utc_now
from trawl.crawlers.runners.log_capture import LogSink, pump, structured

FORWARDER_MODULE = "trawl.crawlers.forwarder"
DEFAULT_DRAIN_SECONDS = 300.0
RESTART_DELAY_SECONDS = 0.5
RESTART_DELAY_MAX_SECONDS = 10.0
# A forwarder that ran this long before dying starts the restart delays over.
HEALTHY_RUN_SECONDS = 30.0
_PROGRESS_KEYS = ("records_shipped", "rejected_oversize", "skipped_torn", "retries")


def forwarder_enabled(env: Mapping[str, str]) -> bool:
    """Only when the attempt's environment names a stream: without one (runner tests, a bare
    checkout) the crawler runs alone and its buffer stays on disk."""
    return bool(env.get("TRAWL_KINESIS_STREAM"))


def drain_seconds(env: Mapping[str, str]) -> float:
    return float(env.get("TRAWL_FORWARDER_DRAIN_SECONDS", DEFAULT_DRAIN_SECONDS))


def _describe(returncode: int | None) -> str:
    if returncode is None:
        return "could not be started"
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


@dataclass
class _Run:
    process: asyncio.subprocess.Process
    output: asyncio.Task[None]


class ForwarderSidecar:
    def __init__(self, files: AttemptFiles, env: Mapping[str, str], sink: LogSink) -> None:
        self.files = files
        self.env = dict(env)
        self.sink = sink
        self.restarts = 0
        self.records_drained = asyncio.Event()
        self._current: _Run | None = None
        self._task: asyncio.Task[None] | None = None
        self._giving_up = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_running())

    async def _spawn(self) -> _Run:
        with self.files.forwarder_log.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                FORWARDER_MODULE,
                str(self.files.dir),
                cwd=self.files.dir,
                # The parent pid lets it end itself should this supervisor be killed.
                env={
                    **self.env,
                    "PYTHONUNBUFFERED": "1",
                    "TRAWL_FORWARDER_PARENT_PID": str(os.getpid()),
                },
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                # Its own group: a stop aimed at the crawler must not cut the forwarder short.
                process_group=0,
            )
        ProcessRef.of(process.pid).write(self.files.forwarder_pid)
        assert process.stdout is not None
        return _Run(process, asyncio.create_task(pump(process.stdout, self._on_line)))

    def _on_line(self, text: str) -> None:
        notice = structured(text)
        if notice is None:
            self.sink.write("forwarder", text, "INFO")
            return
        self.sink.write("forwarder", notice.message, notice.level)
        if notice.fields.get("event") == RECORDS_DRAINED:
            self.records_drained.set()

    async def _run_once(self) -> int | None:
        try:
            self._current = await self._spawn()
        except OSError as exc:
            self.sink.write("forwarder", f"could not start the record forwarder: {exc}", "ERROR")
            return None
        returncode = await self._current.process.wait()
        # Its notices, up to the last, reach the log before anyone acts on its exit.
        await self._current.output
        return returncode

    async def _keep_running(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RESTART_DELAY_SECONDS
        while True:
            started = loop.time()
            returncode = await self._run_once()
            if returncode == 0 or self._giving_up:
                return
            if loop.time() - started > HEALTHY_RUN_SECONDS:
                delay = RESTART_DELAY_SECONDS
            self.restarts += 1
            message = f"the record forwarder {_describe(returncode)}; restarting in {delay:.1f} s"
            self.sink.write("forwarder", message, "WARNING")
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_DELAY_MAX_SECONDS)

    async def drain(self, limit_seconds: float) -> dict[str, Any]:
        """After the crawler ended and its output is captured: waits for every record to be
        shipped, then lets the forwarder finish the log; kills it after `limit_seconds`."""
        assert self._task is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_seconds
        records = await _within(self.records_drained.wait(), deadline, loop)
        if records:
            self.files.logs_closed.write_text(utc_now())
        finished = records and await _within(asyncio.shield(self._task), deadline, loop)
        if not finished:
            await self._give_up()
        return self._report(records, finished, limit_seconds, deadline)

    async def _give_up(self) -> None:
        self._giving_up = True
        assert self._task is not None
        if self._current is not None and self._current.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._current.process.pid, signal.SIGKILL)
        # Ends at once: the process is dead, and a pending restart delay is cancelled.
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def _report(
        self, records: bool, finished: bool, limit_seconds: float, deadline: float
    ) -> dict[str, Any]:
        waited = asyncio.get_running_loop().time() - (deadline - limit_seconds)
        progress = read_progress(self.files.dir)
        chunks_left = len(sealed_chunks(self.files.buffer)) + len(open_chunks(self.files.buffer))
        return {
            "drained": finished,
            "records_drained": records,
            "logs_drained": bool(progress.get("logs_drained")),
            **{key: int(progress.get(key) or 0) for key in _PROGRESS_KEYS},
            "restarts": self.restarts,
            "chunks_left": chunks_left,
            "drain_limit_seconds": limit_seconds,
            "drain_waited_seconds": round(waited, 3),
        }


async def _within(awaitable: Any, deadline: float, loop: asyncio.AbstractEventLoop) -> bool:
    """True when `awaitable` finished before the deadline (it is cancelled otherwise)."""
    try:
        await asyncio.wait_for(awaitable, timeout=max(0.0, deadline - loop.time()))
    except TimeoutError:
        return False
    except Exception:
        # The restart loop itself broke: not drained, which fails the attempt; the traceback
        # goes to supervisor.log.
        traceback.print_exc()
        return False
    return True
