"""What the forwarder, run-log and supervisor tests share: settings with a stream and a
run-logs table of their own, the forwarder's environment, records written with the real
BufferWriter, and reading everything back from the stream (all shards)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.moto import aws_settings
from trawl.config import Settings
from trawl.crawlers.buffer import BufferWriter, RunIdentity, envelope, record_id
from trawl.crawlers.kinesis import ensure_stream
from trawl.crawlers.run_logs import ensure_run_logs_table
from trawl.crawlers.runners.base import CrawlerSpec
from trawl.events.aws import aws_client

FORWARDER_MODULE = "trawl.crawlers.forwarder"
WAIT_SECONDS = 30.0


def stream_settings(endpoint: str, data_dir: Path, shards: int = 4) -> Settings:
    """A stream and a run-logs table of this test's own, created and ACTIVE."""
    suffix = uuid.uuid4().hex[:10]
    settings = aws_settings(
        endpoint,
        data_dir,
        kinesis_stream=f"trawl-records-{suffix}",
        kinesis_shards=shards,
        run_logs_table=f"trawl-run-logs-{suffix}",
    )
    ensure_stream(settings)
    ensure_run_logs_table(settings)
    return settings


def forwarder_env(
    settings: Settings, run_id: str, attempt: int = 1, endpoint: str | None = None
) -> dict[str, str]:
    """What the worker passes to a crawler (and so to its forwarder), tuned to poll fast."""
    return {
        "TRAWL_AWS_USE_EMBEDDED": "false",
        "TRAWL_AWS_ENDPOINT_URL": endpoint or settings.aws_endpoint_url,
        "TRAWL_AWS_REGION": settings.aws_region,
        "TRAWL_KINESIS_STREAM": settings.kinesis_stream,
        "TRAWL_RUN_LOGS_TABLE": settings.run_logs_table,
        "TRAWL_RUN_ID": run_id,
        "TRAWL_RUN_ATTEMPT": str(attempt),
        "TRAWL_ORGANIZATION_ID": "org-1",
        "TRAWL_PROJECT_ID": "project-1",
        "TRAWL_REPORT_ID": "report-1",
        "TRAWL_FORWARDER_POLL_SECONDS": "0.05",
        "TRAWL_FORWARDER_BACKOFF_BASE_SECONDS": "0.05",
        "TRAWL_FORWARDER_BACKOFF_MAX_SECONDS": "0.5",
    }


def stream_spec(
    settings: Settings,
    parameters: dict[str, Any],
    *,
    entry_point: str,
    service_code: str,
    image: str,
    env: dict[str, str] | None = None,
    endpoint: str | None = None,
) -> CrawlerSpec:
    """One attempt of a fresh run, as the worker launches it: the run's stream settings (and
    AWS, run-logs table) in its env, plus `env`."""
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    return CrawlerSpec(
        run_id=run_id,
        attempt=1,
        organization_id="org-1",
        project_id="project-1",
        report_id="report-1",
        service_code=service_code,
        entry_point=entry_point,
        image=image,
        version="1",
        parameters=parameters,
        timeout_seconds=60,
        env={**forwarder_env(settings, run_id, endpoint=endpoint), **(env or {})},
    )


def identity(run_id: str, attempt: int = 1) -> RunIdentity:
    return RunIdentity("org-1", "project-1", "report-1", run_id, attempt)


def write_records(
    buffer: Path,
    who: RunIdentity,
    payloads: list[dict[str, Any]],
    *,
    chunk_records: int = 500,
    close: bool = True,
) -> list[dict[str, Any]]:
    """Writes the payloads as enveloped records; returns the envelopes."""
    writer = BufferWriter(buffer, max_records=chunk_records)
    written = []
    for sequence, payload in enumerate(payloads, start=1):
        record = envelope(who, payload, sequence, record_id(payload))
        writer.append(record)
        written.append(record)
    if close:
        writer.close()
    return written


def payloads(count: int, size: int = 40) -> list[dict[str, Any]]:
    return [{"n": n, "text": f"record {n} " + "x" * size} for n in range(count)]


async def start_forwarder(attempt_dir: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        FORWARDER_MODULE,
        str(attempt_dir),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    """Waits for a forwarder to exit 0; returns its notices (JSON lines on stdout)."""
    try:
        out, err = await asyncio.wait_for(process.communicate(), WAIT_SECONDS)
    except TimeoutError:
        process.kill()
        raise
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]


def progress(attempt_dir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((attempt_dir / "forwarder.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def read_stream(settings: Settings) -> list[dict[str, Any]]:
    """Every record in the stream, decoded, from the start of every shard; the forwarder's
    end-of-attempt markers are left out (see `end_markers`)."""
    return [r for r in read_stream_with_markers(settings) if "control" not in r]


def end_markers(settings: Settings) -> list[dict[str, Any]]:
    return [r for r in read_stream_with_markers(settings) if "control" in r]


def read_stream_with_markers(settings: Settings) -> list[dict[str, Any]]:
    kinesis = aws_client(settings, "kinesis")
    name = settings.kinesis_stream
    found: list[dict[str, Any]] = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            reply = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            found.extend(json.loads(record["Data"]) for record in reply["Records"])
            if not reply["Records"]:
                break
            iterator = reply.get("NextShardIterator")
    return found


def duplicates(records: list[dict[str, Any]]) -> int:
    counts = Counter(record["record_id"] for record in records)
    return sum(count - 1 for count in counts.values())


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["record_id"]: record for record in records}
