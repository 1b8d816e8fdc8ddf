"""The local crawler supervisor: one detached process per attempt that owns the crawler.

Run as `python -m trawl.crawlers.runners.supervisor [--detach] <attempt_dir>`. It reads
`spec.json`, starts the crawler and, when the environment names a Kinesis stream, the record
forwarder beside it (trawl.crawlers.runners.sidecar); it captures the crawler's output into
`logs.jsonl`. When the crawler exits it closes the record buffer if the crawler could not
(seals the open chunk, writes DONE), waits for the forwarder to ship everything, and only then
writes `exit.json`: a run is not reported finished before its records are in the stream.
Everything it knows is in files, so a worker that died (SIGKILL) can be replaced by one that
re-attaches by reading them; the crawler never depends on the worker.

What the runners share about an attempt (file layout, environment contract, pid references)
lives in trawl.crawlers.runners.attempt and is re-exported here."""

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
from typing import Any

from trawl.crawlers.buffer_reader import is_done, mark_done, seal_abandoned
from trawl.crawlers.runners.attempt import (
    AttemptFiles,
    ProcessRef,
    crawler_environment,
    read_json,
    read_spec,
    utc_now,
    write_json_atomic,
    write_spec,
)
from trawl.crawlers.runners.base import CrawlerSpec
from trawl.crawlers.runners.log_capture import LogLine, LogSink, Stream, pump, structured
from trawl.crawlers.runners.sidecar import ForwarderSidecar, drain_seconds, forwarder_enabled

__all__ = [
    "SUPERVISOR_MODULE",
    "AttemptFiles",
    "LogLine",
    "ProcessRef",
    "crawler_environment",
    "main",
    "read_json",
    "read_spec",
    "supervise",
    "utc_now",
    "write_json_atomic",
    "write_spec",
]

SUPERVISOR_MODULE = "trawl.crawlers.runners.supervisor"
STDERR_TAIL_LINES = 10
# After the crawler exits, a grandchild may still hold its pipes open: stop waiting then.
DRAIN_SECONDS = 2.0


def _crawler_lines(sink: LogSink, stream: Stream, tail: deque[str] | None) -> Callable[[str], None]:
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


class _SignalForwarder:
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


def _exit_record(returncode: int | None, tail: deque[str], started_at: str) -> dict[str, Any]:
    signal_name = None
    exit_code = returncode
    if returncode is not None and returncode < 0:
        signal_name = signal.Signals(-returncode).name
        # The shell's (and Kubernetes') convention, so both runners report the same code.
        exit_code = 128 - returncode
    return {
        "exit_code": exit_code,
        "signal": signal_name,
        "started_at": started_at,
        "finished_at": utc_now(),
        "stderr_tail": list(tail),
    }


# What a crawler may see of the worker's own environment. Crawlers are plugin code: the
# worker's secrets (the system client secret, the database URL, AWS credentials) stay out.
_CRAWLER_OS_VARS = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "PYTHONPATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
# Settings for the forwarder alone (where records and logs go, with which credentials).
_FORWARDER_ONLY_PREFIXES = ("TRAWL_AWS_", "TRAWL_KINESIS_", "TRAWL_RUN_LOGS_", "TRAWL_FORWARDER_")


def _attempt_env(spec: CrawlerSpec, files: AttemptFiles) -> dict[str, str]:
    """The forwarder's environment: the worker's (platform code, trusted) plus the run's."""
    env = crawler_environment(spec, str(files.dir), str(files.records), str(files.stats))
    return {**os.environ, **env}


def crawler_only_env(spec: CrawlerSpec, files: AttemptFiles) -> dict[str, str]:
    """The crawler's environment: a few harmless OS variables, the run's contract and the
    run's settings, never the worker's secrets nor the forwarder's AWS settings."""
    base = {name: os.environ[name] for name in _CRAWLER_OS_VARS if name in os.environ}
    run = crawler_environment(spec, str(files.dir), str(files.records), str(files.stats))
    return base | {k: v for k, v in run.items() if not k.startswith(_FORWARDER_ONLY_PREFIXES)}


async def _start_crawler(
    spec: CrawlerSpec, files: AttemptFiles, env: Mapping[str, str]
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        spec.entry_point,
        cwd=files.dir,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Its own process group, so a stop reaches the crawler's children but not us.
        process_group=0,
    )


async def _run_crawler(
    spec: CrawlerSpec,
    files: AttemptFiles,
    env: Mapping[str, str],
    sink: LogSink,
    tail: deque[str],
    signals: _SignalForwarder,
) -> int | None:
    """The crawler's return code once its output is captured; None if it could not start."""
    try:
        # The forwarder gets `env`; the crawler only what it needs (no worker secrets).
        proc = await _start_crawler(spec, files, crawler_only_env(spec, files))
    except OSError as exc:
        _crawler_lines(sink, "stderr", tail)(f"could not start the crawler: {exc}")
        return None
    ProcessRef.of(proc.pid).write(files.crawler_pid)
    with files.launches.open("a", encoding="utf-8") as launches:
        launches.write(f"{utc_now()} pid={proc.pid}\n")
    signals.attach(proc.pid)
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        asyncio.create_task(pump(proc.stdout, _crawler_lines(sink, "stdout", None))),
        asyncio.create_task(pump(proc.stderr, _crawler_lines(sink, "stderr", tail))),
    ]
    returncode = await proc.wait()
    _, unfinished = await asyncio.wait(pumps, timeout=DRAIN_SECONDS)
    for task in unfinished:
        task.cancel()
    return returncode


def _close_buffer(files: AttemptFiles) -> bool:
    """Closes the record buffer for a crawler that could not (crashed, killed): seals its
    open chunk (a torn last line is skipped by the reader) and writes DONE. True if it had to."""
    seal_abandoned(files.buffer)
    if is_done(files.buffer):
        return False
    return mark_done(files.buffer)


async def supervise(files: AttemptFiles) -> int:
    """Runs the attempt's crawler (and forwarder) to the end and records how it ended."""
    spec = read_spec(files)
    env = _attempt_env(spec, files)
    loop = asyncio.get_running_loop()
    signals = _SignalForwarder()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, signals, sig)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sink = LogSink(files.logs)
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    started_at = utc_now()
    sidecar = ForwarderSidecar(files, env, sink) if forwarder_enabled(env) else None
    if sidecar is not None:
        sidecar.start()
    returncode = await _run_crawler(spec, files, env, sink, tail, signals)
    closed_buffer = await asyncio.to_thread(_close_buffer, files)
    forwarder = await sidecar.drain(drain_seconds(env)) if sidecar is not None else None
    sink.close()
    record = _exit_record(returncode, tail, started_at)
    record["buffer_closed_by_supervisor"] = closed_buffer
    record["forwarder"] = forwarder
    write_json_atomic(files.exit, record)
    return 1 if returncode is None else 0


def _detach(files: AttemptFiles) -> bool:
    """Forks; the parent records the child's pid and returns True so it can exit at once.

    The worker waits only for that parent, so the supervisor is orphaned and adopted by init
    (which reaps it): it survives the worker and never lingers as the worker's zombie."""
    pid = os.fork()
    if pid == 0:
        return False
    ProcessRef.of(pid).write(files.supervisor_pid)
    return True


def main(argv: list[str]) -> int:
    args = [arg for arg in argv if arg != "--detach"]
    if len(args) != 1:
        print(f"usage: python -m {SUPERVISOR_MODULE} [--detach] <attempt_dir>", file=sys.stderr)
        return 2
    files = AttemptFiles(Path(args[0]).resolve())
    if "--detach" in argv:
        if _detach(files):
            return 0
    else:
        ProcessRef.of(os.getpid()).write(files.supervisor_pid)
    return asyncio.run(supervise(files))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
