"""The local runner: each attempt is a crawler subprocess under a detached supervisor.

State lives only in the attempt directory (`runs_dir/<run_id>/attempt-<n>`), never in this
object, so any worker process, including one started after another died mid-run, sees the
same attempt: `launch` starts it at most once, `outcome` and `stop` find it by its files."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from trawl.crawlers.runners.base import CrawlerOutcome, CrawlerSpec
from trawl.crawlers.runners.supervisor import (
    SUPERVISOR_MODULE,
    AttemptFiles,
    LogLine,
    ProcessRef,
    read_json,
    utc_now,
    write_spec,
)

# A launch lock with no supervisor after this long means the launching worker died mid-way.
START_TIMEOUT_SECONDS = 30.0
# After SIGKILL, how long stop waits for the supervisor to record the end before giving up.
KILL_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05
STAT_KEYS = ("pages", "records", "errors", "bytes")
MAX_REASON_CHARS = 1000
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class SubprocessRunner:
    """CrawlerRunner for one machine: `python -m <entry_point>` per attempt."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    def attempt_dir(self, spec: CrawlerSpec) -> Path:
        # The run id becomes a path component: refuse anything that could escape runs_dir.
        if not _SAFE_ID.fullmatch(spec.run_id):
            raise ValueError(f"run id {spec.run_id!r} is not usable as a directory name")
        return self.runs_dir / spec.run_id / f"attempt-{spec.attempt}"

    async def launch(self, spec: CrawlerSpec) -> str:
        """Returns the attempt directory, the handle for logs and records."""
        return await asyncio.to_thread(self._launch, spec)

    async def outcome(self, spec: CrawlerSpec) -> CrawlerOutcome | None:
        return await asyncio.to_thread(self._outcome, AttemptFiles(self.attempt_dir(spec)))

    async def stop(self, spec: CrawlerSpec, grace_seconds: float) -> None:
        """SIGTERM to the crawler's process group, SIGKILL once the grace period is over.
        Returns once the crawler has ended; the outcome may come later, once the forwarder
        has shipped what the crawler buffered."""
        files = AttemptFiles(self.attempt_dir(spec))
        loop = asyncio.get_running_loop()
        force_at = loop.time() + max(grace_seconds, 0.0)
        give_up_at = force_at + KILL_WAIT_SECONDS
        sent: signal.Signals | None = None
        while loop.time() < give_up_at:
            ended, crawler = await asyncio.to_thread(_probe, files)
            if ended:
                return
            wanted = signal.SIGTERM if loop.time() < force_at else signal.SIGKILL
            if crawler is not None and sent != wanted and sent != signal.SIGKILL:
                await asyncio.to_thread(crawler.signal_group, wanted)
                sent = wanted
            await asyncio.sleep(POLL_SECONDS)
        raise TimeoutError(f"crawler of run {spec.run_id} attempt {spec.attempt} did not stop")

    async def read_logs(self, spec: CrawlerSpec, after_seq: int = 0) -> list[LogLine]:
        """Captured output lines with seq > after_seq, oldest first."""
        return await asyncio.to_thread(_read_logs, AttemptFiles(self.attempt_dir(spec)), after_seq)

    async def progress(self, spec: CrawlerSpec) -> dict[str, int] | None:
        stats = await asyncio.to_thread(_read_stats, AttemptFiles(self.attempt_dir(spec)))
        return stats or None

    async def launch_count(self, spec: CrawlerSpec) -> int:
        """How many crawler processes were started for this attempt (should be 0 or 1)."""
        return await asyncio.to_thread(_count_lines, AttemptFiles(self.attempt_dir(spec)).launches)

    def _launch(self, spec: CrawlerSpec) -> str:
        files = AttemptFiles(self.attempt_dir(spec))
        files.dir.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: of all concurrent or repeated launches exactly one gets past here.
            fd = os.open(files.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return str(files.dir)
        with os.fdopen(fd, "w") as lock:
            lock.write(json.dumps({"pid": os.getpid(), "at": utc_now()}))
        try:
            write_spec(files, spec)
            _start_supervisor(files)
        except BaseException:
            # Nothing runs yet, so a retried launch may try again.
            if not files.supervisor_pid.exists():
                files.lock.unlink(missing_ok=True)
            raise
        return str(files.dir)

    def _outcome(self, files: AttemptFiles) -> CrawlerOutcome | None:
        ended = _ended(files)
        if ended is not None:
            return ended
        supervisor = ProcessRef.read(files.supervisor_pid)
        if supervisor is None:
            return _not_started(files)
        if supervisor.alive():
            return None
        # It may have written exit.json and exited between our two reads.
        ended = _ended(files)
        if ended is not None:
            return ended
        # Nobody would capture or reap an orphaned crawler, and this outcome is final.
        for orphan in (files.crawler_pid, files.forwarder_pid):
            process = ProcessRef.read(orphan)
            if process is not None:
                process.signal_group(signal.SIGKILL)
        return CrawlerOutcome(
            succeeded=False,
            exit_code=None,
            reason=f"the crawler's supervisor died without recording an exit (see "
            f"{files.supervisor_log})",
            stats=_read_stats(files),
        )


def _start_supervisor(files: AttemptFiles) -> None:
    """Starts the supervisor in a new session; it forks away, so this returns at once."""
    with files.supervisor_log.open("ab") as log:
        done = subprocess.run(
            [sys.executable, "-m", SUPERVISOR_MODULE, "--detach", str(files.dir)],
            cwd=files.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            timeout=START_TIMEOUT_SECONDS,
            check=False,
        )
    if done.returncode != 0 or not files.supervisor_pid.exists():
        raise RuntimeError(
            f"the crawler supervisor did not start (exit {done.returncode}); "
            f"see {files.supervisor_log}"
        )


def _ended(files: AttemptFiles) -> CrawlerOutcome | None:
    info = read_json(files.exit)
    if not isinstance(info, dict):
        return None
    return outcome_from_exit(info, _read_stats(files))


def outcome_from_exit(info: dict[str, Any], stats: dict[str, int]) -> CrawlerOutcome:
    """Maps the supervisor's exit.json to an outcome; `reason` is shown to people. A crawler
    that succeeded fails the attempt all the same when its records did not reach the stream."""
    code = info.get("exit_code")
    signal_name = info.get("signal")
    undelivered = _undelivered(info.get("forwarder"))
    if code == 0 and not signal_name:
        if not undelivered:
            return CrawlerOutcome(succeeded=True, exit_code=0, stats=stats)
        reason = undelivered
    else:
        reason = _crawler_failure(code, signal_name, info.get("stderr_tail"))
        reason = f"{reason}; {undelivered}" if undelivered else reason
    return CrawlerOutcome(
        succeeded=False,
        exit_code=code if isinstance(code, int) else None,
        reason=reason[:MAX_REASON_CHARS],
        stats=stats,
    )


def _crawler_failure(code: Any, signal_name: Any, stderr_tail: Any) -> str:
    tail = [line for line in stderr_tail or [] if isinstance(line, str)]
    if signal_name:
        return f"stopped by {signal_name}"
    if tail:
        return tail[-1].strip()
    if code is None:
        return "the crawler could not be started"
    return f"exit code {code}"


def _undelivered(forwarder: Any) -> str:
    """Why the attempt's records are not all in the stream; empty when they are (or when no
    forwarder ran)."""
    if not isinstance(forwarder, dict):
        return ""
    if forwarder.get("records_drained", True) and not forwarder.get("chunks_left"):
        return ""
    return (
        f"records not delivered: the record forwarder could not ship "
        f"{forwarder.get('chunks_left', '?')} buffered chunk(s) to Kinesis within "
        f"{forwarder.get('drain_limit_seconds', '?')} s after the crawler ended"
    )


def _not_started(files: AttemptFiles) -> CrawlerOutcome | None:
    try:
        locked_at = files.lock.stat().st_mtime
    except FileNotFoundError:
        return CrawlerOutcome(False, None, "the attempt was never launched")
    if time.time() - locked_at < START_TIMEOUT_SECONDS:
        return None
    return CrawlerOutcome(False, None, "the crawler supervisor never started")


def _probe(files: AttemptFiles) -> tuple[bool, ProcessRef | None]:
    """(has the attempt ended, the live crawler process if any)."""
    if files.exit.exists() or not files.lock.exists():
        return True, None
    supervisor = ProcessRef.read(files.supervisor_pid)
    crawler = ProcessRef.read(files.crawler_pid)
    live_crawler = crawler if crawler is not None and crawler.alive() else None
    if supervisor is not None and not supervisor.alive():
        # Nobody will write exit.json: ended, unless its crawler outlived it.
        return live_crawler is None, live_crawler
    if crawler is not None and live_crawler is None:
        # Stopped: the supervisor is only shipping what the crawler buffered (outcome waits).
        return True, None
    return False, live_crawler


def _read_stats(files: AttemptFiles) -> dict[str, int]:
    data = read_json(files.stats)
    if not isinstance(data, dict):
        return {}
    stats = {key: data[key] for key in STAT_KEYS if isinstance(data.get(key), int)}
    # Records too large for Kinesis are rejected by the forwarder, not the crawler.
    rejected = read_json(files.forwarder_progress)
    if isinstance(rejected, dict) and rejected.get("rejected_oversize"):
        stats["errors"] = stats.get("errors", 0) + int(rejected["rejected_oversize"])
    return stats


def _read_logs(files: AttemptFiles, after_seq: int) -> list[LogLine]:
    try:
        text = files.logs.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    lines: list[LogLine] = []
    for raw in text.splitlines():
        try:
            line: LogLine = json.loads(raw)
        except ValueError:
            # Only the line being written right now can be partial.
            continue
        if line["seq"] > after_seq:
            lines.append(line)
    return lines


def _count_lines(path: Path) -> int:
    try:
        return len(path.read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        return 0
