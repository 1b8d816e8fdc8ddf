"""`trawl stream run`: starts the job, keeps its status file, stops it with a savepoint.

The process holds Flink's local MiniCluster (a JVM started by PyFlink) and the job's Python
workers. Its own log and Flink's go to `stream_dir/logs/`, never to the console. Every
second it writes `stream_dir/status.json` (state, job id, where it restored from, the last
complete checkpoint), which `trawl stream status` and `trawl up` read. On SIGTERM/SIGINT it
stops the job with a savepoint so the next start resumes exactly there; if that fails the
job is cancelled, which keeps its retained checkpoints."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from trawl.config import Settings
from trawl.stream.job import (
    JOB_NAME,
    build_pipeline,
    complete_snapshots,
    create_environment,
    latest_snapshot,
    savepoints_dir,
)

log = logging.getLogger("trawl.stream")

TERMINAL = {"FAILED", "CANCELED", "FINISHED"}
STATUS_FILE = "status.json"
LOG_FILE = "stream.log"


def logs_dir(settings: Settings) -> Path:
    return settings.stream_dir / "logs"


def status_path(settings: Settings) -> Path:
    return settings.stream_dir / STATUS_FILE


def write_status(settings: Settings, status: dict[str, Any]) -> None:
    path = status_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status, indent=2, default=str))
    tmp.replace(path)


def last_checkpoint(settings: Settings) -> dict[str, Any] | None:
    snapshots = complete_snapshots(settings)
    if not snapshots:
        return None
    newest = snapshots[-1]
    at = datetime.fromtimestamp((newest / "_metadata").stat().st_mtime, UTC)
    return {"path": str(newest), "at": at.isoformat()}


def configure_file_logging(settings: Settings) -> Path:
    directory = logs_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    # Flink's JVM and PyFlink's worker log here too (PyFlink reads FLINK_LOG_DIR).
    os.environ["FLINK_LOG_DIR"] = str(directory.resolve())
    handler = logging.FileHandler(directory / LOG_FILE)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    return directory / LOG_FILE


class StreamJobDriver:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop_requested = threading.Event()
        self.status: dict[str, Any] = {
            "state": "STARTING",
            "pid": os.getpid(),
            "source": settings.stream_source,
            "started_at": datetime.now(UTC).isoformat(),
        }

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        self.stop_requested.set()

    def run(self) -> int:
        settings = self.settings
        restore = latest_snapshot(settings)
        self.status["restored_from"] = str(restore) if restore else None
        self._write()
        log.info("stream job starting source=%s restore=%s", settings.stream_source, restore)
        env = create_environment(settings, restore)
        build_pipeline(env, settings)
        client = env.execute_async(JOB_NAME)
        self.status["job_id"] = str(client.get_job_id())
        log.info("stream job submitted job_id=%s", self.status["job_id"])
        state = "CREATED"
        while not self.stop_requested.is_set():
            state = client.get_job_status().result().name
            self.status["state"] = state
            self._write()
            if state in TERMINAL:
                log.error("stream job ended on its own in state %s", state)
                return 1
            self.stop_requested.wait(1.0)
        self._stop(client)
        return 0

    def _stop(self, client: Any) -> None:
        self.status["state"] = "STOPPING"
        self._write()
        try:
            from pyflink.java_gateway import get_gateway

            fmt = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
            target = savepoints_dir(self.settings).resolve().as_uri()
            path = client._j_job_client.stopWithSavepoint(False, target, fmt).get()
            self.status["savepoint"] = str(path)
            log.info("stream job stopped with savepoint %s", path)
        except Exception as exc:  # the job may be failing over; keep its checkpoints
            log.warning("stop with savepoint failed (%s); cancelling", exc)
            try:
                client.cancel().result()
            except Exception as cancel_error:
                log.warning("cancel failed: %s", cancel_error)
        self.status["state"] = "STOPPED"
        self._write()

    def _write(self) -> None:
        self.status["updated_at"] = datetime.now(UTC).isoformat()
        self.status["last_checkpoint"] = last_checkpoint(self.settings)
        write_status(self.settings, self.status)


def run_stream_job(settings: Settings) -> int:
    log_file = configure_file_logging(settings)
    print(f"trawl stream: job starting; logs in {log_file}", flush=True)
    driver = StreamJobDriver(settings)
    signal.signal(signal.SIGTERM, driver.request_stop)
    signal.signal(signal.SIGINT, driver.request_stop)
    try:
        return driver.run()
    except Exception as exc:
        log.exception("stream job failed to start")
        driver.status["state"] = "FAILED"
        driver.status["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        driver._write()
        return 1
    finally:
        time.sleep(0)  # let the log handler flush before the JVM goes
