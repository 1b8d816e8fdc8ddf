"""The real moto server as a subprocess on a free loopback port, for tests of the AWS paths
(EventBridge, SQS, DynamoDB, ...). It can be stopped and started again on the same port, which
is how tests take "the bus" down and bring it back. moto keeps no state across a restart.

Tests isolate themselves by unique resource names (bus, queue, table) rather than by resets,
so one server serves the whole session."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from trawl.config import Settings

_START_TIMEOUT_SECONDS = 30.0
_STOP_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    """A loopback port nobody listens on (tests also use it as "the service is down")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """`moto.server` (the `moto_server` entry point) run by this test process."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path = Path(tempfile.gettempdir()) / f"trawl-moto-{self.port}.log"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start (no-op when running) and wait until it answers HTTP."""
        if self.running:
            return
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def stop(self) -> None:
        """Stop and wait until the port is closed; no-op when not running."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def reset(self) -> None:
        """Forget every resource (all services)."""
        httpx.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"moto server exited; see {self._log_path}")
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"moto server not ready in {_START_TIMEOUT_SECONDS}s; see {self._log_path}"
        )

    def _answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                pass
            response = httpx.get(f"{self.endpoint}/moto-api/data.json", timeout=2)
        except (OSError, httpx.HTTPError):
            return False
        return response.status_code == 200


def aws_settings(endpoint: str, data_dir: Path, **overrides: object) -> Settings:
    """Settings pointing at `endpoint`, with a bus, rule, queue and audit table of their own so
    tests sharing one moto server never see each other's events."""
    suffix = uuid.uuid4().hex[:12]
    values: dict[str, object] = {
        "data_dir": data_dir,
        "aws_endpoint_url": endpoint,
        "event_bus_name": f"trawl-test-{suffix}",
        "event_rule_name": f"trawl-test-{suffix}",
        "event_queue_name": f"trawl-test-{suffix}",
        "audit_table": f"trawl-audit-{suffix}",
        "outbox_poll_seconds": 0.05,
        "outbox_retry_max_seconds": 0.5,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto server for the session. A test that stops it must start it again."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()
