"""The parent's side of bench.live.subscribers: start the processes, wait until every one is
subscribed, tell them to stop and collect what each subscriber received. Every process
started here is killed on the way out, error or Ctrl-C included."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
STREAM_LIMIT = 1 << 28  # the results come back as one JSON line of a few MB
READY_SECONDS = 180.0


@dataclass(frozen=True)
class Received:
    """What one subscriber saw: (accepted, receive time) in order of arrival."""

    key: str
    seen: list[tuple[int, float]]


@dataclass
class SubscriberProcess:
    label: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def failure(self, what: str) -> RuntimeError:
        tail = self.log.read_text(errors="replace")[-2000:]
        return RuntimeError(f"subscriber process {self.label} {what}; its log ends:\n{tail}")

    async def ready(self) -> None:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), READY_SECONDS)
        if line.strip() != b"ready":
            raise self.failure("did not get ready")

    async def stop(self) -> tuple[list[Received], list[str]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        if not line:
            raise self.failure("exited without results")
        body: dict[str, Any] = json.loads(line)
        await asyncio.wait_for(self.process.wait(), 30)
        received = [
            Received(key, [(int(v), float(t)) for v, t in seen]) for key, seen in body["received"]
        ]
        return received, list(body["errors"])

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def start(label: str, spec: dict[str, Any], root: Path) -> SubscriberProcess:
    spec_path = root / f"{label}.json"
    spec_path.write_text(json.dumps(spec))
    log = root / f"{label}.log"
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.live.subscribers",
            str(spec_path),
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            limit=STREAM_LIMIT,
        )
    return SubscriberProcess(label, process, log)


@contextlib.asynccontextmanager
async def subscribed(
    specs: dict[str, dict[str, Any]], root: Path
) -> AsyncIterator[list[SubscriberProcess]]:
    """Starts one process per spec and returns once all are subscribed."""
    processes: list[SubscriberProcess] = []
    try:
        for label, spec in specs.items():
            processes.append(await start(label, spec, root))
        await asyncio.gather(*(p.ready() for p in processes))
        yield processes
    finally:
        for process in processes:
            await process.kill()


async def collect(
    processes: list[SubscriberProcess],
) -> tuple[dict[str, list[Received]], list[str]]:
    """Stops every process: what its subscribers received, per process label; their errors."""
    received: dict[str, list[Received]] = {}
    errors: list[str] = []
    for process in processes:
        received[process.label], failed = await process.stop()
        errors.extend(f"{process.label}: {e}" for e in failed)
    return received, errors
