"""The raw sinks alone, in this process, one after the other: the same envelopes upserted with
`MongoRecordSink.write` in batches of `stream_mongo_batch` (commands of at most 50, as the
job's sink) into a database of their own on the same server, then written as Avro parts of
`avro_part_records` with `S3AvroWriter.write_part` into a bucket of their own in the same
moto. No Flink, no Kinesis, no validation or de-duplication."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trawl.config import Settings
from trawl.stream.avro_schema import derive_avro_schema
from trawl.stream.sinks.mongo import MAX_OPS_PER_COMMAND, MongoRecordSink
from trawl.stream.sinks.s3_avro import RunKey, S3AvroWriter, part_for


@dataclass(frozen=True, slots=True)
class Baseline:
    records: int
    mongo_seconds: float
    avro_seconds: float
    parts: int

    @property
    def combined_seconds(self) -> float:
        return self.mongo_seconds + self.avro_seconds


def _mongo(settings: Settings, batch: list[dict[str, Any]], stop: threading.Event) -> float:
    size = settings.stream_mongo_batch
    chunk = min(MAX_OPS_PER_COMMAND, size)
    with MongoRecordSink(settings.mongo_url, settings.mongo_database, chunk_size=chunk) as sink:
        sink.ensure_indexes()  # as the job's sink does when it opens, untimed
        started = time.perf_counter()
        for start in range(0, len(batch), size):
            if stop.is_set():
                raise RuntimeError("stopped during the MongoDB baseline")
            sink.write(batch[start : start + size])
        seconds = time.perf_counter() - started
        stored = sink.records.count_documents({})
    assert stored == len(batch), (stored, len(batch))
    return seconds


def _avro(
    settings: Settings,
    batch: list[dict[str, Any]],
    record_schema: Mapping[str, Any],
    stop: threading.Event,
) -> tuple[float, int]:
    writer = S3AvroWriter(settings)
    writer.ensure_bucket()
    started = time.perf_counter()
    schema = derive_avro_schema(record_schema)  # once per run, as the job's book does
    parts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in batch:
        parts[part_for(item["sequence"], writer.part_records)].append(item)
    run = RunKey.of(batch[0])
    written = 0
    for n in sorted(parts):
        if stop.is_set():
            raise RuntimeError("stopped during the Avro baseline")
        written += writer.write_part(run, 1, n, schema, parts[n]).records
    seconds = time.perf_counter() - started
    assert written == len(batch), (written, len(batch))
    return seconds, len(parts)


def run_baseline(
    settings: Settings,
    batch: list[dict[str, Any]],
    record_schema: Mapping[str, Any],
    stop: threading.Event,
) -> Baseline:
    """`settings` name the baseline's own database and bucket."""
    mongo = _mongo(settings, batch, stop)
    avro, parts = _avro(settings, batch, record_schema, stop)
    return Baseline(len(batch), mongo, avro, parts)
