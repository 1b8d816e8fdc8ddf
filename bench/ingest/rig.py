"""What the ingest bench runs against: a MongoDB server of its own (SecantusDB, or FerretDB),
moto, the embedded platform (issuer, gRPC services, gateway over SQLite; no worker, no event
path) and one organization, project, report and run created over GraphQL. Everything started
here is stopped on the way out, error or Ctrl-C included."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.graphql import (
    GraphQLClient,
    Person,
    new_org,
    new_person,
    new_project,
    new_report,
    trigger_run,
)
from tests.support.platform import RunningPlatform, free_port
from tests.support.runs import raw_id
from trawl.config import Settings
from trawl.crawlers.buffer import RunIdentity
from trawl.crawlers.kinesis import ensure_stream
from trawl.crawlers.run_logs import ensure_run_logs_table
from trawl.demo.report_fields import PRODUCT_SCHEMA
from trawl.devservers import ChildServer, start_moto, start_secantus
from trawl.embedded import EmbeddedPlatform
from trawl.tenants.issuer import LocalIssuer

REPO = Path(__file__).resolve().parents[2]
FERRETDB_SCRIPT = REPO / "scripts" / "ferretdb.sh"

KEY_FIELDS = ["id"]


@dataclass
class Mongo:
    url: str
    server: str  # what answered, for the report
    pid: int | None = None  # for its CPU seconds


@dataclass
class Rig:
    settings: Settings  # the platform's; a pass derives its job's settings from these
    mongo: Mongo
    moto: ChildServer
    gql: GraphQLClient
    owner: Person
    report_id: str  # global id

    async def new_run(self) -> tuple[RunIdentity, str]:
        """A run of the report, triggered with no worker (it stays QUEUED; the stream job
        takes in its records all the same): its raw ids, and its global id."""
        run = await trigger_run(self.gql, self.owner, self.report_id)
        info = await self.gql.execute(
            "query($id: ID!) { run(id: $id) { report { id project { id organization { id } } } } }",
            {"id": run},
            token=self.owner.token,
        )
        report = info.data["run"]["report"]
        project = report["project"]
        who = RunIdentity(
            raw_id(project["organization"]["id"]),
            raw_id(project["id"]),
            raw_id(report["id"]),
            raw_id(run),
            1,
        )
        return who, run


async def _ferretdb(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(FERRETDB_SCRIPT),
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode(errors="replace").strip()


@contextlib.asynccontextmanager
async def ferretdb(root: Path) -> AsyncIterator[Mongo]:
    """A FerretDB of the bench's own (scripts/ferretdb.sh with a free port and a directory
    under `root`), so the tests' server is never touched."""
    directory = root / "ferretdb"
    env = {"TRAWL_TEST_FERRETDB_PORT": str(free_port()), "TRAWL_TEST_FERRETDB_DIR": str(directory)}
    try:
        code, out = await _ferretdb(env, "start")
        if code != 0:
            raise RuntimeError(f"scripts/ferretdb.sh start failed:\n{out}")
        url = (await _ferretdb(env, "url"))[1].splitlines()[-1]
        pid = int((directory / "ferretdb.pid").read_text().strip())
        yield Mongo(f"{url}?directConnection=true", f"FerretDB 1.24 ({url}, SQLite)", pid)
    finally:
        await _ferretdb(env, "stop")


@contextlib.asynccontextmanager
async def secantus(root: Path) -> AsyncIterator[Mongo]:
    """SecantusDB as `trawl up` runs it, on a free port, its files under `root`."""
    settings = Settings(data_dir=root / "secantus", mongo_port=free_port())
    server = await start_secantus(settings)
    try:
        pid = server.process.pid if server.process else None
        url = settings.mongo_url
        yield Mongo(f"{url}?directConnection=true", f"SecantusDB ({url})", pid)
    finally:
        await server.stop()


MONGO_SERVERS = {"secantus": secantus, "ferretdb": ferretdb}


def platform_settings(root: Path, mongo: Mongo, aws_port: int) -> Settings:
    tag = uuid.uuid4().hex[:8]
    data_dir = root / "platform"
    return Settings(
        data_dir=data_dir,
        db_url=f"sqlite+aiosqlite:///{data_dir / 'trawl.db'}",
        gateway_port=free_port(),
        issuer_port=free_port(),
        grpc_port=free_port(),
        aws_port=aws_port,
        aws_endpoint_url=f"http://127.0.0.1:{aws_port}",
        aws_use_embedded=False,
        kinesis_stream=f"bench-ingest-{tag}",
        run_logs_table=f"bench-ingest-logs-{tag}",
        mongo_uri=mongo.url,
        mongo_use_embedded=False,
        mongo_database=f"bench_ingest_{tag}",
        records_bucket=f"bench-ingest-{tag}",
        max_concurrent_runs=100,  # every pass leaves a QUEUED run behind
        log_level="WARNING",
    )


@contextlib.asynccontextmanager
async def open_rig(root: Path, mongo_server: str) -> AsyncIterator[Rig]:
    async with contextlib.AsyncExitStack() as stack:
        mongo = await stack.enter_async_context(MONGO_SERVERS[mongo_server](root))
        aws_port = free_port()
        settings = platform_settings(root, mongo, aws_port)
        moto = await start_moto(settings)
        stack.push_async_callback(moto.stop)
        await asyncio.to_thread(ensure_run_logs_table, settings)
        platform = EmbeddedPlatform(settings)
        stack.push_async_callback(platform.stop)
        await platform.start()
        running = RunningPlatform(settings, platform, LocalIssuer(settings), "sqlite")
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        gql = GraphQLClient(running, http)
        owner = await new_person(gql, "bench")
        project = await new_project(gql, owner, await new_org(gql, owner))
        report = await new_report(
            gql, owner, project, recordSchema=PRODUCT_SCHEMA, recordKeyFields=KEY_FIELDS
        )
        yield Rig(settings, mongo, moto, gql, owner, report["id"])


def fresh_stream(settings: Settings, label: str, shards: int) -> Settings:
    """`settings` with a Kinesis stream, MongoDB database, bucket and stream_dir of their own
    (a job restores from the newest snapshot in its stream_dir: a pass must not inherit one)."""
    tag = f"{label}-{uuid.uuid4().hex[:6]}"
    fresh = settings.model_copy(
        update={
            "data_dir": settings.data_dir.parent / f"job-{tag}",
            "kinesis_stream": f"bench-ingest-{tag}",
            "kinesis_shards": shards,
            "mongo_database": f"bench_ingest_{tag.replace('-', '_')}",
            "records_bucket": f"bench-ingest-{tag}",
        }
    )
    ensure_stream(fresh)
    return fresh
