"""A Lambda function run locally the way AWS runs it: the AWS Lambda Runtime Interface
Emulator (built from the Go module proxy by scripts/lambda-rie.sh) starts the Python runtime
interface client (`python -m awslambdaric <handler>`, from the awslambdaric package) and
serves the Lambda Invoke API on a loopback port. The runtime process is started on the first
invocation and kept warm for every later one, as in a Lambda execution environment.

The RIE answers an invocation with the handler's JSON result, or with the runtime's error
document (`errorType`, `errorMessage`, `stackTrace`) when the handler raised."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.platform import free_port
from trawl.config import Settings

_ROOT = Path(__file__).resolve().parents[2]
_BUILD_TIMEOUT_SECONDS = 960.0  # the script waits up to 900 s for another build's lock
_START_TIMEOUT_SECONDS = 15.0
_STOP_TIMEOUT_SECONDS = 10.0
_INVOKE_TIMEOUT_SECONDS = 90.0
INVOKE_PATH = "/2015-03-31/functions/function/invocations"

# Everything the event handler reads from settings, passed to the function as TRAWL_* vars.
_HANDLER_SETTINGS = (
    "aws_endpoint_url",
    "aws_region",
    "audit_table",
    "event_source",
    "temporal_address",
    "temporal_namespace",
    "temporal_task_queue",
    "delivery_retry_initial_seconds",
    "delivery_max_attempts",
)


def rie_binary() -> Path:
    """Builds the RIE once (cached under .data/bin) and returns its path."""
    try:
        result = subprocess.run(
            ["bash", str(_ROOT / "scripts" / "lambda-rie.sh"), "build"],
            capture_output=True,
            text=True,
            timeout=_BUILD_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"scripts/lambda-rie.sh did not finish in {_BUILD_TIMEOUT_SECONDS}s")
    if result.returncode != 0:
        pytest.fail(f"scripts/lambda-rie.sh failed ({result.returncode}):\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def lambda_environment(settings: Settings, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment a deployed function would have: Lambda's own variables and the
    TRAWL_* settings of the handler, and nothing inherited from the test process."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(data_dir),
        "TZ": "UTC",
        "AWS_REGION": settings.aws_region,
        "AWS_DEFAULT_REGION": settings.aws_region,
        "AWS_LAMBDA_FUNCTION_NAME": "trawl-events",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "60",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "TRAWL_DATA_DIR": str(data_dir),
        "TRAWL_AWS_USE_EMBEDDED": "false",
        "TRAWL_LOG_LEVEL": "INFO",
    }
    for name in _HANDLER_SETTINGS:
        env[f"TRAWL_{name.upper()}"] = str(getattr(settings, name))
    env.update(extra)
    return env


class LambdaFunction:
    """`aws-lambda-rie <python> -m awslambdaric <handler>`, run by this test process."""

    def __init__(self, rie: Path, handler: str, env: dict[str, str], log_file: Path) -> None:
        self.rie = rie
        self.handler = handler
        self.env = env
        self.log_file = log_file
        self.port = free_port()
        self.runtime_api_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def invoke_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{INVOKE_PATH}"

    def start(self) -> None:
        command = [
            str(self.rie),
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            "--runtime-api-address",
            f"127.0.0.1:{self.runtime_api_port}",
            sys.executable,
            "-m",
            "awslambdaric",
            self.handler,
        ]
        with self.log_file.open("ab") as log:
            # A session of its own: stop() ends the RIE and the runtime it started together.
            self._process = subprocess.Popen(
                command,
                cwd=_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not self._listening():
            if self._process.poll() is not None:
                raise RuntimeError(f"aws-lambda-rie exited; see {self.log_file}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"aws-lambda-rie not listening; see {self.log_file}")
            time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    async def invoke(self, http: httpx.AsyncClient, payload: Any) -> Any:
        """POSTs one invocation (a JSON value, or raw bytes) and returns the decoded answer."""
        content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        response = await http.post(
            self.invoke_url, content=content, timeout=_INVOKE_TIMEOUT_SECONDS
        )
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def runtime_pids(self) -> list[int]:
        """The processes the RIE started (the Python runtime): those whose parent it is."""
        if self._process is None:
            return []
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self._process.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False
