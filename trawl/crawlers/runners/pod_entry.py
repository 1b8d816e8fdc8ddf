"""The crawler container's entry point in a Kubernetes pod: what the local supervisor does for
a crawler, done inside the pod, where no supervisor runs.

Run as `python -m trawl.crawlers.runners.pod_entry [--stop-grace-seconds N] <run_dir>
<entry_point>` (service code images are built on the SDK, so `trawl` is importable in them).
It runs `python -m <entry_point>` as a child in its own process group with the container's
environment, and captures the child's stdout and stderr into `<run_dir>/logs.jsonl` exactly as
the supervisor does (the forwarder container ships them to the run's log). SIGTERM (the Job
being deleted) is passed on to the crawler, which is killed should it not have ended after the
stop grace period. However the crawler ends, this entry then closes the record buffer if the
crawler could not (seals its open chunk, writes DONE), closes the log (`logs.closed`), writes
the last stderr lines to the termination message (/dev/termination-log, or
TRAWL_TERMINATION_LOG) and exits with the crawler's exit code (128 + n for signal n).

While it lives it touches `<run_dir>/crawler.heartbeat` every second: should the whole
container die (an OOM kill of its process group, a SIGKILL of this entry), the forwarder
container sees the heartbeat go stale and closes the buffer itself (forwarder.liveness)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Mapping
from pathlib import Path

from trawl.crawlers.buffer_reader import is_done
from trawl.crawlers.forwarder.layout import HEARTBEAT_FILE
from trawl.crawlers.runners.attempt import AttemptFiles, ProcessRef, utc_now
from trawl.crawlers.runners.crawler_process import (
    STDERR_TAIL_LINES,
    SignalForwarder,
    capture,
    close_buffer,
    crawler_lines,
    exit_code,
    start_crawler,
)
from trawl.crawlers.runners.log_capture import LogSink

POD_ENTRY_MODULE = "trawl.crawlers.runners.pod_entry"
HEARTBEAT_SECONDS = 1.0
DEFAULT_STOP_GRACE_SECONDS = 10.0
TERMINATION_LOG = "/dev/termination-log"
# Kubernetes keeps at most 4096 bytes of a termination message.
MAX_TERMINATION_BYTES = 4096
EXIT_NOT_STARTED = 127
EXIT_BUFFER_CLOSED = 3


class Heartbeat:
    """Touches a file every `interval` seconds from its own thread, so a busy event loop
    never makes a living crawler container look dead."""

    def __init__(self, path: Path, interval: float = HEARTBEAT_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self.beat()
        self._thread.start()

    def beat(self) -> None:
        with contextlib.suppress(OSError):
            self.path.touch()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()


class _Stop:
    """SIGTERM/SIGINT: passed on to the crawler at once, SIGKILL after the grace period."""

    def __init__(self, signals: SignalForwarder, grace_seconds: float) -> None:
        self.signals = signals
        self.grace_seconds = grace_seconds
        self._force: asyncio.TimerHandle | None = None

    def __call__(self, sig: signal.Signals) -> None:
        self.signals(sig)
        if self._force is None:
            loop = asyncio.get_running_loop()
            self._force = loop.call_later(self.grace_seconds, self.signals, signal.SIGKILL)

    def cancel(self) -> None:
        if self._force is not None:
            self._force.cancel()


def termination_message(tail: deque[str], signal_name: str | None) -> str:
    """The crawler's last stderr lines; the runner shows the last one as the run's reason,
    so a crawler stopped by a signal ends with that, as the local runner reports it."""
    lines = [line for line in tail if line.strip()]
    if signal_name:
        lines.append(f"stopped by {signal_name}")
    data = "\n".join(lines).encode("utf-8")[-MAX_TERMINATION_BYTES:]
    return data.decode("utf-8", errors="ignore")


def _write_termination_message(path: Path, message: str) -> None:
    with contextlib.suppress(OSError):  # best effort: the log has every line anyway
        path.write_text(message, encoding="utf-8")


async def _run(
    files: AttemptFiles, entry_point: str, env: Mapping[str, str], sink: LogSink, stop: _Stop
) -> tuple[int | None, deque[str]]:
    """The crawler's return code (None: it could not start) and its last stderr lines."""
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    try:
        proc = await start_crawler(entry_point, files.dir, env)
    except OSError as exc:
        crawler_lines(sink, "stderr", tail)(f"could not start the crawler: {exc}")
        return None, tail
    ProcessRef.of(proc.pid).write(files.crawler_pid)
    stop.signals.attach(proc.pid)
    return await capture(proc, sink, tail), tail


async def run_pod_entry(
    files: AttemptFiles,
    entry_point: str,
    env: Mapping[str, str],
    *,
    stop_grace_seconds: float,
    termination_log: Path,
) -> int:
    """Runs the crawler to its end, closes its buffer and log; returns the exit code."""
    if is_done(files.buffer):
        # The forwarder already took this attempt's buffer for abandoned (this container
        # started after its start grace): records written now would never be shipped.
        message = (
            "the crawler container started after the record forwarder had closed the "
            "attempt's buffer; not starting the crawler"
        )
        print(message, file=sys.stderr)
        _write_termination_message(termination_log, message)
        return EXIT_BUFFER_CLOSED
    heartbeat = Heartbeat(files.dir / HEARTBEAT_FILE)
    heartbeat.start()
    stop = _Stop(SignalForwarder(), stop_grace_seconds)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    sink = LogSink(files.logs)
    returncode: int | None = None
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    try:
        returncode, tail = await _run(files, entry_point, env, sink, stop)
    finally:
        # Whatever happened above, the buffer and log are closed for the forwarder.
        stop.cancel()
        # Records first: they are what a kill at the end of the pod's grace period would cost.
        await asyncio.to_thread(close_buffer, files.buffer)
        sink.close()
        files.logs_closed.write_text(utc_now())
        heartbeat.stop()
    code, signal_name = (EXIT_NOT_STARTED, None) if returncode is None else exit_code(returncode)
    if code != 0:
        _write_termination_message(termination_log, termination_message(tail, signal_name))
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {POD_ENTRY_MODULE}")
    parser.add_argument("--stop-grace-seconds", type=float, default=DEFAULT_STOP_GRACE_SECONDS)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("entry_point")
    return parser


def main(argv: list[str], env: Mapping[str, str]) -> int:
    args = _parser().parse_args(argv)
    files = AttemptFiles(args.run_dir.resolve())
    files.dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(
        run_pod_entry(
            files,
            args.entry_point,
            env,
            stop_grace_seconds=args.stop_grace_seconds,
            termination_log=Path(env.get("TRAWL_TERMINATION_LOG") or TERMINATION_LOG),
        )
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
