"""Kinesis for the record path: the stream's creation and one PutRecords call within the
service's limits (500 records, 5 MiB a call, 1 MiB a record including its partition key).

A PutRecords call can succeed as a whole while single records fail (throttled shard, internal
error); `put_batch` reports those per record so the caller re-sends only them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from trawl.config import Settings
from trawl.crawlers.buffer_reader import BufferedRecord
from trawl.events.aws import aws_client

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
# Kinesis counts the data blob and the partition key against the 1 MiB record limit.
MAX_RECORD_BYTES = 1024 * 1024
_ACTIVE_TIMEOUT_SECONDS = 60.0


def record_size(record: BufferedRecord) -> int:
    return len(record.data) + len(record.partition_key.encode())


def fits(record: BufferedRecord) -> bool:
    return record_size(record) <= MAX_RECORD_BYTES


def take_batch(pending: Sequence[BufferedRecord]) -> list[BufferedRecord]:
    """The longest prefix of `pending` one PutRecords call accepts (every record must fit)."""
    batch: list[BufferedRecord] = []
    total = 0
    for record in pending[:MAX_BATCH_RECORDS]:
        size = record_size(record)
        if batch and total + size > MAX_BATCH_BYTES:
            break
        batch.append(record)
        total += size
    return batch


@dataclass(frozen=True, slots=True)
class BatchResult:
    acked: list[int] = field(default_factory=list)
    # (record index, ErrorCode) of the records Kinesis did not take.
    failed: list[tuple[int, str]] = field(default_factory=list)


def put_batch(client: Any, stream: str, batch: Sequence[BufferedRecord]) -> BatchResult:
    """One PutRecords call; raises when the call itself fails (network, 5xx, missing stream)."""
    reply = client.put_records(
        StreamName=stream,
        Records=[{"Data": r.data, "PartitionKey": r.partition_key} for r in batch],
    )
    results = reply.get("Records") or []
    if len(results) != len(batch):
        raise RuntimeError(f"PutRecords answered {len(results)} results for {len(batch)} records")
    acked: list[int] = []
    failed: list[tuple[int, str]] = []
    for record, result in zip(batch, results, strict=True):
        if result.get("ErrorCode"):
            failed.append((record.index, str(result["ErrorCode"])))
        else:
            acked.append(record.index)
    return BatchResult(acked=acked, failed=failed)


def ensure_stream(settings: Settings, client: Any = None) -> None:
    """Creates the stream with `kinesis_shards` shards unless it exists, then waits until it is
    ACTIVE. Safe to call from several processes at once."""
    kinesis = client or aws_client(settings, "kinesis")
    name = settings.kinesis_stream
    try:
        kinesis.create_stream(StreamName=name, ShardCount=settings.kinesis_shards)
    except ClientError as exc:
        # Someone else created it (or is creating it): wait for it like for our own.
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
    deadline = time.monotonic() + _ACTIVE_TIMEOUT_SECONDS
    while True:
        status = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if status["StreamStatus"] == "ACTIVE":
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"Kinesis stream {name} not ACTIVE after {_ACTIVE_TIMEOUT_SECONDS}s")
        time.sleep(0.5)
