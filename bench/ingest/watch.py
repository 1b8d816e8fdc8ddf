"""Reading back what a pass landed: the run's stats, MongoDB count and S3 parts, polled until
complete; then every document's emit-to-stored latency, the parts parsed with fastavro, and
the CPU seconds of the processes involved (Linux /proc)."""

from __future__ import annotations

import asyncio
import io
import math
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import fastavro
from pymongo import MongoClient

from trawl.config import Settings
from trawl.crawlers.buffer import RunIdentity
from trawl.events.aws import aws_client
from trawl.stream.sinks.s3_avro import RunKey, run_prefix

POLL_SECONDS = 0.5
STALL_SECONDS = 180.0  # no progress at all for this long: the pass failed


class Stalled(RuntimeError):
    pass


def _run_filter(who: RunIdentity) -> dict[str, Any]:
    # organization_id leads every records index; a bare run_id filter scans the collection.
    return {"organization_id": who.organization_id, "run_id": who.run_id}


def _prefix(who: RunIdentity) -> str:
    return run_prefix(RunKey(who.organization_id, who.project_id, who.report_id, who.run_id))


@dataclass
class Landing:
    """When the poller first saw all N in MongoDB and all parts in S3 (epoch seconds)."""

    mongo_seen_at: float = 0.0
    s3_seen_at: float = 0.0
    counts: int = 0  # count_documents calls
    count_seconds: float = 0.0


Progress = Callable[[], Awaitable[int]]


def _count(settings: Settings, who: RunIdentity) -> int:
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url)
    with client:
        return client[settings.mongo_database].records.count_documents(_run_filter(who))


async def watch(settings: Settings, who: RunIdentity, expected: int, accepted: Progress) -> Landing:
    """Polls every POLL_SECONDS until MongoDB holds `expected` records of the run and S3 holds
    all of its parts; raises Stalled when nothing moves for STALL_SECONDS. A count over the
    run's documents costs the server a scan (0.5 s at 20,000 on SecantusDB), so MongoDB is
    counted only once the run's `accepted` stat (which the job reports every second) says all
    are in; the time all were stored is read from the documents afterwards anyway."""
    parts = math.ceil(expected / settings.avro_part_records)
    landing = Landing()
    s3 = aws_client(settings, "s3")
    prefix = _prefix(who)
    last_change, last_state = time.monotonic(), (-1, -1)
    while not (landing.mongo_seen_at and landing.s3_seen_at):
        await asyncio.sleep(POLL_SECONDS)
        taken = await accepted()
        keys = await asyncio.to_thread(_part_keys, s3, settings.records_bucket, prefix)
        if len(keys) >= parts and not landing.s3_seen_at:
            landing.s3_seen_at = time.time()
        if taken >= expected and not landing.mongo_seen_at:
            started = time.perf_counter()
            count = await asyncio.to_thread(_count, settings, who)
            landing.counts += 1
            landing.count_seconds += time.perf_counter() - started
            if count >= expected:
                landing.mongo_seen_at = time.time()
        if (taken, len(keys)) != last_state:
            last_change, last_state = time.monotonic(), (taken, len(keys))
        elif time.monotonic() - last_change > STALL_SECONDS:
            raise Stalled(f"stuck at {taken} accepted and {len(keys)}/{parts} parts")
    return landing


def _part_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
    except s3.exceptions.NoSuchBucket:
        return []


@dataclass(frozen=True, slots=True)
class Stored:
    documents: int
    latencies: list[float]  # stored_at - emitted_at, seconds, sorted
    last_stored_at: float  # epoch seconds


def stored(settings: Settings, who: RunIdentity) -> Stored:
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url, tz_aware=True)
    with client:
        docs = client[settings.mongo_database].records.find(
            _run_filter(who), {"_id": 0, "emitted_at": 1, "stored_at": 1}
        )
        pairs = [(datetime.fromisoformat(d["emitted_at"]), d["stored_at"]) for d in docs]
    latencies = sorted((s - e).total_seconds() for e, s in pairs)
    last = max(s for _, s in pairs).timestamp() if pairs else 0.0
    return Stored(len(pairs), latencies, last)


def avro_records(settings: Settings, who: RunIdentity) -> tuple[int, int, int]:
    """(parts, records, distinct record ids) in the run's S3 parts."""
    s3 = aws_client(settings, "s3")
    keys = _part_keys(s3, settings.records_bucket, _prefix(who))
    ids: list[str] = []
    for key in keys:
        body = s3.get_object(Bucket=settings.records_bucket, Key=key)["Body"].read()
        ids.extend(r["record_id"] for r in fastavro.reader(io.BytesIO(body)) if isinstance(r, dict))
    return len(keys), len(ids), len(set(ids))


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


# -- CPU ------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _seconds(fields: list[str]) -> float:
    # utime, stime, and the children's it waited for (cutime, cstime)
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        return _seconds(_stat(pid))
    except (OSError, IndexError, ValueError):
        return 0.0


def group_cpu(pgid: int) -> float:
    """CPU seconds of every live process in the process group (the job: driver, JVM, Python
    workers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat(int(entry.name))
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            total += _seconds(fields)
    return total
