"""What the live bench runs against: a private redis-server, the embedded platform (issuer,
gRPC services and their publisher on Redis; its own gateway is started but unused) over
SQLite, two `trawl gateway` processes sharing that Redis, and over GraphQL one organization
with a project, a report and a QUEUED run per measured run (no worker: nothing else writes
to the runs), and the users who subscribe (MEMBER of the organization, VIEWER of the
project). Everything started here is stopped on the way out, error or Ctrl-C included."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from tests.support.graphql import (
    GraphQLClient,
    Person,
    add_to_project,
    join_org,
    new_org,
    new_person,
    new_project,
    new_report,
    trigger_run,
)
from tests.support.platform import RunningPlatform, free_port
from tests.support.redis_server import RedisServer
from tests.support.runs import raw_id
from trawl.config import Settings
from trawl.devservers import settings_env
from trawl.embedded import EmbeddedPlatform
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.live.channels import run_channel
from trawl.live.run_updates import decode_run
from trawl.stream.services import StreamServices
from trawl.tenants.issuer import LocalIssuer

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LiveRun:
    global_id: str
    raw: str
    organization: str  # raw id, as the stream job reports it


@dataclass
class Gateway:
    settings: Settings
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    @property
    def ws_url(self) -> str:
        return f"ws://{self.settings.gateway_host}:{self.settings.gateway_port}/graphql"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Rig:
    settings: Settings
    redis_server: RedisServer
    gateways: list[Gateway]
    runs: list[LiveRun]
    tokens: list[str]  # one per subscribing user
    templates: dict[str, pb.Run]  # per raw run id: the Run as the service last published it
    services: StreamServices
    bare_client: redis.Redis  # the bare publishers'

    @property
    def redis_pid(self) -> int:
        assert self.redis_server.process is not None
        return self.redis_server.process.pid


def platform_settings(root: Path, redis_url: str) -> Settings:
    return Settings(
        data_dir=root / "platform",
        db_url=f"sqlite+aiosqlite:///{root / 'platform' / 'trawl.db'}",
        gateway_port=free_port(),
        issuer_port=free_port(),
        grpc_port=free_port(),
        redis_url=redis_url,
        max_concurrent_runs=100,
        log_level="WARNING",
    )


def spawn_gateway(settings: Settings, log: Path) -> Gateway:
    """`trawl gateway` as production runs a replica, configured through TRAWL_* variables."""
    env = {**os.environ, **settings_env(settings)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "trawl.cli", "gateway"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
        )
    return Gateway(settings, process, log)


async def start_gateway(settings: Settings, log: Path) -> Gateway:
    gateway = spawn_gateway(settings, log)
    try:
        await _healthy(gateway)
    except BaseException:
        gateway.stop()
        raise
    return gateway


async def _healthy(gateway: Gateway) -> None:
    settings = gateway.settings
    url = f"http://{settings.gateway_host}:{settings.gateway_port}/healthz"
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(300):
            if gateway.process.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).is_success:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"a gateway did not start; its log ends:\n{gateway.log_tail()}")


async def seed(gql: GraphQLClient, runs: int, users: int) -> tuple[list[LiveRun], list[str]]:
    owner = await new_person(gql, "bench-live-owner")
    org = await new_org(gql, owner)
    project = await new_project(gql, owner, org)
    made: list[LiveRun] = []
    for _ in range(runs):
        report = await new_report(gql, owner, project)
        run = await trigger_run(gql, owner, report["id"])
        made.append(LiveRun(run, raw_id(run), raw_id(org)))
    tokens: list[str] = []
    for _ in range(users):
        person: Person = await new_person(gql, "bench-live-viewer")
        await join_org(gql, owner, org, person, "MEMBER")
        await add_to_project(gql, owner, project, person, "VIEWER")
        tokens.append(person.token)
    return made, tokens


def capture_templates(
    settings: Settings, services: StreamServices, runs: list[LiveRun]
) -> dict[str, pb.Run]:
    """Reports accepted=0 on every run and keeps the Run each publish carried: the bare
    baseline sends that very message. Blocking: call it in a thread."""
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]  # unannotated in redis-py
    try:
        pubsub.subscribe(*(run_channel(r.raw) for r in runs))
        for run in runs:
            services.report_stream_stats(run.raw, run.organization, 0, 0, 0, 0, 0)
        templates: dict[str, pb.Run] = {}
        while len(templates) < len(runs):
            message = pubsub.get_message(timeout=10)
            if message is None:
                raise RuntimeError("the reports service published nothing on Redis")
            if message["type"] == "message":
                decoded = decode_run(json.loads(message["data"]))
                if decoded is not None:
                    templates[decoded.id] = decoded
        return templates
    finally:
        pubsub.close()
        client.close()


@contextlib.asynccontextmanager
async def open_rig(root: Path, runs: int, users: int, gateways: int) -> AsyncIterator[Rig]:
    async with contextlib.AsyncExitStack() as stack:
        server = RedisServer(free_port())
        stack.callback(server.stop)
        await asyncio.to_thread(server.start)
        settings = platform_settings(root, server.url)
        platform = EmbeddedPlatform(settings)
        stack.push_async_callback(platform.stop)
        await platform.start()
        started: list[Gateway] = []
        for i in range(gateways):
            replica = settings.model_copy(update={"gateway_port": free_port()})
            gateway = await start_gateway(replica, root / f"gateway-{i}.log")
            stack.callback(gateway.stop)
            started.append(gateway)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        running = RunningPlatform(settings, platform, LocalIssuer(settings), "sqlite")
        made, tokens = await seed(GraphQLClient(running, http), runs, users)
        services = StreamServices(settings)
        stack.callback(services.close)
        templates = await asyncio.to_thread(capture_templates, settings, services, made)
        bare_client = redis.Redis.from_url(settings.redis_url)
        stack.callback(bare_client.close)
        yield Rig(settings, server, started, made, tokens, templates, services, bare_client)
