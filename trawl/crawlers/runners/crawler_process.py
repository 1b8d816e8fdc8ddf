"""The crawler as a child process, the same wherever it runs: the local supervisor and a pod's
crawler entry (trawl.crawlers.runners.pod_entry) both start it with `python -m <entry point>`
in its own process group, capture its output into `logs.jsonl`, pass stop signals on to it and,
once it ended, close its record buffer if it could not.

Also here: which settings are the forwarder's alone, so no crawler ever gets them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

from trawl.crawlers.buffer_reader import is_done, mark_done, seal_abandoned
from trawl.crawlers.runners.log_capture import LogSink, Stream, pump, structured

STDERR_TAIL_LINES = 10
# After the crawler exits, a grandchild may still hold its pipes open: stop waiting then.
DRAIN_SECONDS = 2.0
# Settings for the forwarder alone (where records and logs go, with which credentials).
FORWARDER_ONLY_PREFIXES = ("TRAWL_AWS_", "TRAWL_KINESIS_", "TRAWL_RUN_LOGS_", "TRAWL_FORWARDER_")


def without_forwarder_settings(env: Mapping[str, str]) -> dict[str, str]:
    """`env` less the forwarder's settings (AWS credentials and endpoints among them)."""
    return {k: v for k, v in env.items() if not k.startswith(FORWARDER_ONLY_PREFIXES)}


def crawler_lines(sink: LogSink, stream: Stream, tail: deque[str] | None) -> Callable[[str], None]:
    """What becomes of one captured line of the crawler's stdout or stderr."""

    def on_line(text: str) -> None:
        if stream == "stderr":
            sink.write("stderr", text, "ERROR")
            if tail is not None and text.strip():
                tail.append(text)
            return
        entry = structured(text)
        if entry is None:
            sink.write("stdout", text, "INFO")
        else:
            sink.write("log", entry.message, entry.level)

    return on_line


class SignalForwarder:
    """Passes SIGTERM/SIGINT on to the crawler's process group, even if it arrives early."""

    def __init__(self) -> None:
        self._crawler: int | None = None
        self._pending: signal.Signals | None = None

    def __call__(self, sig: signal.Signals) -> None:
        if self._crawler is None:
            self._pending = sig
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._crawler, sig)

    def attach(self, pid: int) -> None:
        self._crawler = pid
        if self._pending is not None:
            self(self._pending)


async def start_crawler(
    entry_point: str, cwd: Path, env: Mapping[str, str]
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        entry_point,
        cwd=cwd,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Its own process group, so a stop reaches the crawler's children but not us.
        process_group=0,
    )


async def capture(proc: asyncio.subprocess.Process, sink: LogSink, tail: deque[str]) -> int:
    """Captures the started crawler's output until it exits; returns its return code."""
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        asyncio.create_task(pump(proc.stdout, crawler_lines(sink, "stdout", None))),
        asyncio.create_task(pump(proc.stderr, crawler_lines(sink, "stderr", tail))),
    ]
    returncode = await proc.wait()
    _, unfinished = await asyncio.wait(pumps, timeout=DRAIN_SECONDS)
    for task in unfinished:
        task.cancel()
    return returncode


def exit_code(returncode: int) -> tuple[int, str | None]:
    """(exit code, signal name): a signal is 128 + its number, the shell's (and Kubernetes')
    convention, so both runners report the same code."""
    if returncode >= 0:
        return returncode, None
    return 128 - returncode, signal.Signals(-returncode).name


def close_buffer(buffer: Path) -> bool:
    """Closes the record buffer for a crawler that could not (crashed, killed): seals its
    open chunk (a torn last line is skipped by the reader) and writes DONE. True if it had to."""
    seal_abandoned(buffer)
    if is_done(buffer):
        return False
    return mark_done(buffer)
