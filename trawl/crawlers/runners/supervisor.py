"""The local crawler supervisor: one detached process per attempt that owns the crawler.

Run as `python -m trawl.crawlers.runners.supervisor [--detach] <attempt_dir>`. It reads
`spec.json`, starts the crawler, captures its output into `logs.jsonl` and, when it exits,
writes `exit.json`. Everything it knows is in files, so a worker that died (SIGKILL) can be
replaced by one that re-attaches by reading them; the crawler never depends on the worker.

This module also holds what the runners share: the attempt's file layout, the environment
contract with crawlers, and a pid reference that tells a live process from a reused pid or a
zombie."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

from trawl.crawlers.runners.base import CrawlerSpec

SUPERVISOR_MODULE = "trawl.crawlers.runners.supervisor"
STDERR_TAIL_LINES = 10
# One log line is capped so a crawler printing a huge blob cannot bloat the log store.
MAX_LINE_BYTES = 16 * 1024
# After the crawler exits, a grandchild may still hold its pipes open: stop waiting then.
DRAIN_SECONDS = 2.0
_PROC = Path("/proc")


class LogLine(TypedDict):
    seq: int
    at: str
    stream: Literal["stdout", "stderr"]
    level: Literal["INFO", "ERROR"]
    message: str


@dataclass(frozen=True, slots=True)
class AttemptFiles:
    """Where one attempt keeps its state; the directory is the crawler's working dir."""

    dir: Path

    @property
    def spec(self) -> Path:
        return self.dir / "spec.json"

    @property
    def lock(self) -> Path:
        return self.dir / "launch.lock"

    @property
    def supervisor_pid(self) -> Path:
        return self.dir / "supervisor.pid"

    @property
    def supervisor_log(self) -> Path:
        return self.dir / "supervisor.log"

    @property
    def crawler_pid(self) -> Path:
        return self.dir / "crawler.pid"

    @property
    def launches(self) -> Path:
        return self.dir / "launches"

    @property
    def logs(self) -> Path:
        return self.dir / "logs.jsonl"

    @property
    def exit(self) -> Path:
        return self.dir / "exit.json"

    @property
    def records(self) -> Path:
        return self.dir / "records.jsonl"

    @property
    def stats(self) -> Path:
        return self.dir / "stats.json"


def crawler_environment(spec: CrawlerSpec, run_dir: str, output: str, stats: str) -> dict[str, str]:
    """The contract with every crawler, wherever it runs: it learns everything from these."""
    contract = {
        "TRAWL_RUN_ID": spec.run_id,
        "TRAWL_RUN_ATTEMPT": str(spec.attempt),
        "TRAWL_ORGANIZATION_ID": spec.organization_id,
        "TRAWL_PROJECT_ID": spec.project_id,
        "TRAWL_REPORT_ID": spec.report_id,
        "TRAWL_SERVICE_CODE": spec.service_code,
        "TRAWL_RUN_PARAMETERS": json.dumps(spec.parameters, separators=(",", ":")),
        "TRAWL_RUN_DIR": run_dir,
        "TRAWL_RUN_OUTPUT": output,
        "TRAWL_RUN_STATS": stats,
    }
    # The contract wins over spec.env so extra settings can never redirect the run's files.
    return {**spec.env, **contract}


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


def write_json_atomic(path: Path, data: Any) -> None:
    """Readers see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """None when the file is missing or unreadable (files here are written atomically)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_spec(files: AttemptFiles, spec: CrawlerSpec) -> None:
    write_json_atomic(files.spec, dataclasses.asdict(spec))


def read_spec(files: AttemptFiles) -> CrawlerSpec:
    return CrawlerSpec(**json.loads(files.spec.read_text(encoding="utf-8")))


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) from /proc, or None when there is no such process."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


@dataclass(frozen=True, slots=True)
class ProcessRef:
    """A pid plus its start time: a recycled pid or an unreaped zombie does not count as alive."""

    pid: int
    start_ticks: int | None

    @classmethod
    def of(cls, pid: int) -> ProcessRef:
        stat = _proc_stat(pid)
        return cls(pid, stat[1] if stat else None)

    @classmethod
    def read(cls, path: Path) -> ProcessRef | None:
        data = read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
            return None
        return cls(data["pid"], data.get("start_ticks"))

    def write(self, path: Path) -> None:
        write_json_atomic(path, {"pid": self.pid, "start_ticks": self.start_ticks})

    def alive(self) -> bool:
        if not _PROC.is_dir():
            return _signal_zero(self.pid)
        stat = _proc_stat(self.pid)
        if stat is None or stat[0] in ("Z", "X"):
            return False
        return self.start_ticks is None or stat[1] == self.start_ticks

    def signal_group(self, sig: signal.Signals) -> None:
        """Signal the process group this process leads, if it is still the one we started."""
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)


def _signal_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _LogSink:
    """Appends captured lines to logs.jsonl; one event loop writes, so seq needs no lock."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._seq = 0

    def write(self, stream: Literal["stdout", "stderr"], message: str) -> None:
        self._seq += 1
        line: LogLine = {
            "seq": self._seq,
            "at": utc_now(),
            "stream": stream,
            "level": "INFO" if stream == "stdout" else "ERROR",
            "message": message,
        }
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _decode(raw: bytes) -> str:
    return raw[:MAX_LINE_BYTES].decode("utf-8", errors="replace").rstrip("\r")


async def _pump(
    reader: asyncio.StreamReader,
    stream: Literal["stdout", "stderr"],
    sink: _LogSink,
    tail: deque[str] | None,
) -> None:
    """Line-splits one pipe by hand: StreamReader.readline fails on over-long lines."""
    pending = b""
    while chunk := await reader.read(65536):
        *lines, pending = (pending + chunk).split(b"\n")
        if len(pending) > MAX_LINE_BYTES:
            lines.append(pending)
            pending = b""
        for raw in lines:
            _emit(_decode(raw), stream, sink, tail)
    if pending:
        _emit(_decode(pending), stream, sink, tail)


def _emit(
    message: str, stream: Literal["stdout", "stderr"], sink: _LogSink, tail: deque[str] | None
) -> None:
    sink.write(stream, message)
    if tail is not None and message.strip():
        tail.append(message)


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


async def _start_crawler(spec: CrawlerSpec, files: AttemptFiles) -> asyncio.subprocess.Process:
    env = crawler_environment(spec, str(files.dir), str(files.records), str(files.stats))
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        spec.entry_point,
        cwd=files.dir,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Its own process group, so a stop reaches the crawler's children but not us.
        process_group=0,
    )


async def supervise(files: AttemptFiles) -> int:
    """Runs the attempt's crawler to its end and records how it ended."""
    spec = read_spec(files)
    loop = asyncio.get_running_loop()
    forwarder = _SignalForwarder()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, forwarder, sig)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sink = _LogSink(files.logs)
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    started_at = utc_now()
    try:
        proc = await _start_crawler(spec, files)
    except OSError as exc:
        _emit(f"could not start the crawler: {exc}", "stderr", sink, tail)
        sink.close()
        write_json_atomic(files.exit, _exit_record(None, tail, started_at))
        return 1
    ProcessRef.of(proc.pid).write(files.crawler_pid)
    with files.launches.open("a", encoding="utf-8") as launches:
        launches.write(f"{started_at} pid={proc.pid}\n")
    forwarder.attach(proc.pid)
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        asyncio.create_task(_pump(proc.stdout, "stdout", sink, None)),
        asyncio.create_task(_pump(proc.stderr, "stderr", sink, tail)),
    ]
    returncode = await proc.wait()
    _, unfinished = await asyncio.wait(pumps, timeout=DRAIN_SECONDS)
    for task in unfinished:
        task.cancel()
    sink.close()
    write_json_atomic(files.exit, _exit_record(returncode, tail, started_at))
    return 0


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
