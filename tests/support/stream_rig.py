"""The full platform plus the stream job (a real `trawl stream run` process: Flink MiniCluster
and Python workers) writing to the test MongoDB server (FerretDB) through a TcpProxy that
can cut it, and to moto's S3. Helpers read back what landed."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fastavro
from pymongo import MongoClient

from tests.support.graphql import GraphQLClient, Person
from tests.support.runs import raw_id
from tests.support.tcp_proxy import TcpProxy
from trawl.config import Settings
from trawl.devservers import ChildServer, start_stream_job
from trawl.events.aws import aws_client
from trawl.stream.sinks.mongo import read_payload

STREAM_FIELDS = """state attempt datasetReadyAt
  stats { records errors accepted rejected duplicates storedBytes }"""


def mongo_proxy(mongo_url: str) -> TcpProxy:
    parts = urlsplit(mongo_url)
    return TcpProxy(parts.hostname or "127.0.0.1", parts.port or 27017)


def stream_overrides(proxy: TcpProxy) -> dict[str, object]:
    tag = uuid.uuid4().hex[:8]
    return {
        "mongo_uri": f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true",
        "mongo_database": f"trawl_stream_{tag}",
        "records_bucket": f"trawl-records-{tag}",
        "avro_part_records": 50,
        "kinesis_shards": 2,
        "stream_checkpoint_interval_seconds": 1.0,
        "stream_stats_interval_seconds": 0.5,
        "stream_polls_per_second": 10,
    }


@dataclass
class StreamRig:
    settings: Settings
    proxy: TcpProxy
    mongo_url: str
    job: ChildServer | None = None

    async def start_job(self) -> None:
        self.job = await start_stream_job(self.settings)

    async def stop_job(self) -> None:
        """SIGTERM: the job stops with a savepoint."""
        if self.job is not None:
            await self.job.stop()
            self.job = None

    async def kill_job(self) -> None:
        """SIGKILL to the job's whole process group (driver, JVM, Python workers): a crash."""
        job, self.job = self.job, None
        assert job is not None and job.process is not None
        os.killpg(job.process.pid, signal.SIGKILL)
        await asyncio.to_thread(job.process.wait)

    def records(self, run_id: str) -> list[dict[str, Any]]:
        with MongoClient(self.mongo_url, directConnection=True) as client:
            db = client[self.settings.mongo_database]
            return list(db.records.find({"run_id": raw_id(run_id)}))

    def dead_letters(self, run_id: str) -> list[dict[str, Any]]:
        with MongoClient(self.mongo_url, directConnection=True) as client:
            db = client[self.settings.mongo_database]
            return list(db.dead_letters.find({"run_id": raw_id(run_id)}))

    def avro_records(self, run_id: str) -> tuple[list[str], list[dict[str, Any]]]:
        """The run's part keys and every record in them, in key order."""
        s3 = aws_client(self.settings, "s3")
        bucket = self.settings.records_bucket
        keys = sorted(
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for item in page.get("Contents", [])
            if f"/run={raw_id(run_id)}/" in item["Key"]
        )
        rows: list[dict[str, Any]] = []
        for key in keys:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            rows.extend(r for r in fastavro.reader(io.BytesIO(body)) if isinstance(r, dict))
        return keys, rows


async def stream_view(gql: GraphQLClient, owner: Person, run_id: str) -> dict[str, Any]:
    result = await gql.execute(
        f"query($id: ID!) {{ run(id: $id) {{ {STREAM_FIELDS} }} }}",
        {"id": run_id},
        token=owner.token,
    )
    run: dict[str, Any] = result.data["run"]
    return run


async def wait_for_dataset(
    gql: GraphQLClient, owner: Person, run_id: str, within_seconds: float = 180.0
) -> dict[str, Any]:
    """Until the run is final and the stream job has taken in all of its last attempt."""
    deadline = time.monotonic() + within_seconds
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = await stream_view(gql, owner, run_id)
        if run["datasetReadyAt"]:
            return run
        await asyncio.sleep(0.25)
    raise AssertionError(f"run {run_id}'s dataset not ready in {within_seconds}s: {run}")


def payloads_by_id(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(d["record_id"]): read_payload(d) for d in docs}


def log_tail(settings: Settings, lines: int = 40) -> str:
    path: Path = settings.stream_dir / "logs" / "stream.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
