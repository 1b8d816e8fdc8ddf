"""The forwarder process: configuration from the environment, one thread shipping records and
one shipping log lines, and the exit code the supervisor (or Kubernetes) acts on.

Two modes (TRAWL_FORWARDER_MODE). "sidecar", the default: run by the local supervisor, which
closes the buffer of a crashed crawler and decides when to give up; SIGTERM/SIGINT stop it at
once. "pod": a container of the crawler's Kubernetes pod, where nobody supervises it. Kubelet
sends SIGTERM to every container of a deleted Job at once, so a signal does not stop it: it
keeps shipping until the crawler is done and everything is shipped, or until kubelet kills it
at the end of the pod's grace period. It also watches the crawler container's heartbeat
(forwarder.liveness) and closes the buffer itself should that container die whole.

Exit codes: 0 everything shipped; 143 stopped by SIGTERM/SIGINT before that (sidecar only;
progress is saved, a restart resumes); 1 an unexpected error (restart it); 2 bad usage or
configuration; 3 orphaned: the supervisor that started it (TRAWL_FORWARDER_PARENT_PID) is
gone, and with it whoever would wait for the forwarder or close the buffer of a crashed
crawler."""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from botocore.config import Config

from trawl.config import Settings
from trawl.crawlers.buffer_reader import buffer_dir
from trawl.crawlers.forwarder.liveness import (
    DEFAULT_STALE_SECONDS,
    DEFAULT_START_GRACE_SECONDS,
    CrawlerContainerWatch,
)
from trawl.crawlers.forwarder.logs import LogShipper
from trawl.crawlers.forwarder.pacing import Backoff, Notices
from trawl.crawlers.forwarder.progress import Progress
from trawl.crawlers.forwarder.records import RecordShipper
from trawl.events.aws import aws_client, client_config
from trawl.live.redis_broker import RedisPublisher

MODULE = "trawl.crawlers.forwarder"
EXIT_STOPPED = 128 + signal.SIGTERM
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ORPHANED = 3
MODES = ("sidecar", "pod")


@dataclass(frozen=True, slots=True)
class ForwarderConfig:
    """Everything the forwarder reads from its environment, read in one place."""

    settings: Settings
    run_id: str
    attempt: int
    poll_seconds: float = 0.2
    backoff_base_seconds: float = 0.1
    backoff_max_seconds: float = 5.0
    parent_pid: int | None = None
    organization_id: str = ""
    project_id: str = ""
    report_id: str = ""
    mode: str = "sidecar"
    heartbeat_stale_seconds: float = DEFAULT_STALE_SECONDS
    start_grace_seconds: float = DEFAULT_START_GRACE_SECONDS

    @property
    def in_pod(self) -> bool:
        return self.mode == "pod"

    def identity(self) -> dict[str, object] | None:
        """What every record of this attempt must say it belongs to (None: not known, as
        in the forwarder's own unit tests)."""
        if not self.organization_id:
            return None
        return {
            "organization_id": self.organization_id,
            "project_id": self.project_id,
            "report_id": self.report_id,
            "run_id": self.run_id,
            "attempt": self.attempt,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ForwarderConfig:
        """Raises KeyError/ValueError when the run identity is missing or a number is not.
        The AWS settings come from the process environment (pydantic-settings, TRAWL_ prefix)."""
        mode = env.get("TRAWL_FORWARDER_MODE") or "sidecar"
        if mode not in MODES:
            raise ValueError(f"TRAWL_FORWARDER_MODE={mode!r}: expected one of {MODES}")
        stale = env.get("TRAWL_FORWARDER_HEARTBEAT_STALE_SECONDS")
        grace = env.get("TRAWL_FORWARDER_START_GRACE_SECONDS")
        return cls(
            # TRAWL_AWS_ENDPOINT_URL, TRAWL_AWS_REGION, TRAWL_KINESIS_STREAM, ... (env prefix).
            settings=Settings(),
            run_id=env["TRAWL_RUN_ID"],
            attempt=int(env["TRAWL_RUN_ATTEMPT"]),
            poll_seconds=float(env.get("TRAWL_FORWARDER_POLL_SECONDS", "0.2")),
            backoff_base_seconds=float(env.get("TRAWL_FORWARDER_BACKOFF_BASE_SECONDS", "0.1")),
            backoff_max_seconds=float(env.get("TRAWL_FORWARDER_BACKOFF_MAX_SECONDS", "5")),
            parent_pid=int(parent) if (parent := env.get("TRAWL_FORWARDER_PARENT_PID")) else None,
            organization_id=env.get("TRAWL_ORGANIZATION_ID", ""),
            project_id=env.get("TRAWL_PROJECT_ID", ""),
            report_id=env.get("TRAWL_REPORT_ID", ""),
            mode=mode,
            heartbeat_stale_seconds=float(stale) if stale else DEFAULT_STALE_SECONDS,
            start_grace_seconds=float(grace) if grace else DEFAULT_START_GRACE_SECONDS,
        )

    def backoff(self) -> Backoff:
        return Backoff(self.backoff_base_seconds, self.backoff_max_seconds)


def _client(settings: Settings, service: str) -> Any:
    # Our own loops retry forever with backoff; botocore retrying too would only hide outages.
    retries = Config(retries={"mode": "standard", "max_attempts": 1})
    return aws_client(settings, service, config=client_config().merge(retries))


class Forwarder:
    def __init__(self, attempt_dir: Path, config: ForwarderConfig) -> None:
        self.stop = threading.Event()
        self.parent_pid = config.parent_pid
        self.progress = Progress(attempt_dir)
        notices = Notices()
        settings = config.settings
        self.in_pod = config.in_pod
        watch = (
            CrawlerContainerWatch(
                attempt_dir,
                config.heartbeat_stale_seconds,
                notices,
                start_grace_seconds=config.start_grace_seconds,
            )
            if config.in_pod
            else None
        )
        writer_lost = watch.lost if watch is not None else None
        self.records = RecordShipper(
            buffer_dir(attempt_dir),
            _client(settings, "kinesis"),
            settings.kinesis_stream,
            self.progress,
            notices,
            self.stop,
            poll_seconds=config.poll_seconds,
            backoff=config.backoff(),
            identity=config.identity(),
            writer_lost=writer_lost,
        )
        self.logs = LogShipper(
            attempt_dir,
            _client(settings, "dynamodb"),
            settings.run_logs_table,
            (config.run_id, config.attempt),
            self.progress,
            notices,
            self.stop,
            poll_seconds=config.poll_seconds,
            backoff=config.backoff(),
            records_drained=self.records.drained,
            # Wakes live `runLogs` subscribers early; the forwarder is platform code and
            # inherits the worker's TRAWL_REDIS_URL (never given to the crawler itself).
            hints=RedisPublisher(settings.redis_url) if settings.redis_url else None,
            writer_lost=writer_lost,
        )
        self._errors: list[BaseException] = []

    def on_signal(self, signum: int) -> None:
        """Sidecar: stop now. Pod: the Job is being deleted and the crawler told to stop at
        the same time; what it buffered must still go out, so go on until it is shipped."""
        if not self.in_pod:
            self.stop.set()
            return
        name = signal.Signals(signum).name
        print(f"forwarder: {name}: shipping what is buffered until done", file=sys.stderr)

    def _guarded(self, work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # reported by the main thread
                self._errors.append(exc)
                self.stop.set()

        return run

    def run(self) -> int:
        self.progress.add(starts=1)
        threads = [
            threading.Thread(target=self._guarded(work), name=name, daemon=True)
            for name, work in (("records", self.records.run), ("logs", self.logs.run))
        ]
        for thread in threads:
            thread.start()
        # Joined with a timeout so the main thread keeps handling signals.
        orphaned = False
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=0.2)
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                orphaned = True
                self.stop.set()
        if orphaned:
            return EXIT_ORPHANED
        if self._errors:
            traceback.print_exception(self._errors[0], file=sys.stderr)
            return EXIT_FAILED
        return EXIT_STOPPED if self.stop.is_set() else 0


def main(argv: list[str], env: Mapping[str, str]) -> int:
    if len(argv) != 1:
        print(f"usage: python -m {MODULE} <attempt_dir>", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = ForwarderConfig.from_env(env)
    except (KeyError, ValueError) as exc:
        print(f"forwarder: bad environment: {exc!r}", file=sys.stderr)
        return EXIT_USAGE
    forwarder = Forwarder(Path(argv[0]).resolve(), config)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        forwarder.on_signal(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return forwarder.run()
