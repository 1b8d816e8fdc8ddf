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
lives in trawl.crawlers.runners.attempt and is re-exported here; how the crawler child is run
and its output captured is trawl.crawlers.runners.crawler_process, which a Kubernetes pod's
crawler entry (trawl.crawlers.runners.pod_entry) uses the same way."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import deque
from pathlib import Path
from typing import Any

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
from trawl.crawlers.runners.crawler_process import (
    STDERR_TAIL_LINES,
    SignalForwarder,
    capture,
    close_buffer,
    crawler_lines,
    exit_code,
    start_crawler,
    without_forwarder_settings,
)
from trawl.crawlers.runners.log_capture import LogLine, LogSink
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


def _exit_record(returncode: int | None, tail: deque[str], started_at: str) -> dict[str, Any]:
    code, signal_name = exit_code(returncode) if returncode is not None else (None, None)
    return {
        "exit_code": code,
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


def _attempt_env(spec: CrawlerSpec, files: AttemptFiles) -> dict[str, str]:
    """The forwarder's environment: the worker's (platform code, trusted) plus the run's."""
    env = crawler_environment(spec, str(files.dir), str(files.records), str(files.stats))
    return {**os.environ, **env}


def crawler_only_env(spec: CrawlerSpec, files: AttemptFiles) -> dict[str, str]:
    """The crawler's environment: a few harmless OS variables, the run's contract and the
    run's settings, never the worker's secrets nor the forwarder's AWS settings."""
    base = {name: os.environ[name] for name in _CRAWLER_OS_VARS if name in os.environ}
    run = crawler_environment(spec, str(files.dir), str(files.records), str(files.stats))
    return base | without_forwarder_settings(run)


async def _run_crawler(
    spec: CrawlerSpec,
    files: AttemptFiles,
    sink: LogSink,
    tail: deque[str],
    signals: SignalForwarder,
) -> int | None:
    """The crawler's return code once its output is captured; None if it could not start."""
    try:
        # The forwarder gets the attempt's environment; the crawler only what it needs.
        proc = await start_crawler(spec.entry_point, files.dir, crawler_only_env(spec, files))
    except OSError as exc:
        crawler_lines(sink, "stderr", tail)(f"could not start the crawler: {exc}")
        return None
    ProcessRef.of(proc.pid).write(files.crawler_pid)
    with files.launches.open("a", encoding="utf-8") as launches:
        launches.write(f"{utc_now()} pid={proc.pid}\n")
    signals.attach(proc.pid)
    return await capture(proc, sink, tail)


async def supervise(files: AttemptFiles) -> int:
    """Runs the attempt's crawler (and forwarder) to the end and records how it ended."""
    spec = read_spec(files)
    env = _attempt_env(spec, files)
    loop = asyncio.get_running_loop()
    signals = SignalForwarder()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, signals, sig)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sink = LogSink(files.logs)
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    started_at = utc_now()
    sidecar = ForwarderSidecar(files, env, sink) if forwarder_enabled(env) else None
    if sidecar is not None:
        sidecar.start()
    returncode = await _run_crawler(spec, files, sink, tail, signals)
    closed_buffer = await asyncio.to_thread(close_buffer, files.buffer)
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
