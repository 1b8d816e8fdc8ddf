"""One attempt's place on disk and what every runner shares about it: the file layout, the
environment contract with crawlers (and their forwarder), small atomic JSON helpers, and a pid
reference that tells a live process from a reused pid or a zombie."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trawl.crawlers.buffer_reader import buffer_dir
from trawl.crawlers.forwarder.layout import LOGS_CLOSED, LOGS_FILE, PROGRESS_FILE
from trawl.crawlers.runners.base import CrawlerSpec

_PROC = Path("/proc")


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
        return self.dir / LOGS_FILE

    @property
    def exit(self) -> Path:
        return self.dir / "exit.json"

    @property
    def records(self) -> Path:
        return self.dir / "records.jsonl"

    @property
    def stats(self) -> Path:
        return self.dir / "stats.json"

    @property
    def buffer(self) -> Path:
        """The crawler's record buffer (trawl.crawlers.buffer)."""
        return buffer_dir(self.dir)

    @property
    def forwarder_pid(self) -> Path:
        return self.dir / "forwarder.pid"

    @property
    def forwarder_log(self) -> Path:
        """The forwarder's stderr: for operators, not shown to users."""
        return self.dir / "forwarder.log"

    @property
    def forwarder_progress(self) -> Path:
        return self.dir / PROGRESS_FILE

    @property
    def logs_closed(self) -> Path:
        """Written once no more crawler output will be captured: the forwarder may finish."""
        return self.dir / LOGS_CLOSED


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
