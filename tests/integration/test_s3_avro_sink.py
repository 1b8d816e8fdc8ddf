"""The S3 Avro sink against a real moto server: parts under the run's keys, records read back
as written (types kept), byte-identical rewrites, sequence-range parts, whole objects only."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.moto import MotoServer, aws_settings
from trawl.stream.avro_schema import derive_avro_schema, to_avro_record
from trawl.stream.sinks.s3_avro import RunKey, S3AvroWriter, part_for, part_key

RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "price": {"type": "number"},
        "stock": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "seller": {"type": "object", "properties": {"name": {"type": "string"}}},
    },
    "required": ["title", "price"],
}
AVRO_SCHEMA = derive_avro_schema(RECORD_SCHEMA)


def make_writer(moto_server: MotoServer, tmp_path: Path, part_records: int = 10) -> S3AvroWriter:
    settings = aws_settings(
        moto_server.endpoint,
        tmp_path,
        records_bucket=f"trawl-records-{uuid.uuid4().hex[:12]}",
        avro_part_records=part_records,
    )
    writer = S3AvroWriter(settings)
    writer.ensure_bucket()
    return writer


def make_run() -> RunKey:
    return RunKey("org-1", "proj-1", "rep-1", f"run-{uuid.uuid4().hex[:8]}")


def envelope(run: RunKey, sequence: int, **payload: Any) -> dict[str, Any]:
    return {
        "record_id": f"rec-{sequence:06d}",
        "organization_id": run.organization_id,
        "project_id": run.project_id,
        "report_id": run.report_id,
        "run_id": run.run_id,
        "attempt": 1,
        "sequence": sequence,
        "emitted_at": "2025-03-01T12:00:00+00:00",
        "payload": {"title": f"item {sequence}", "price": sequence + 0.5, **payload},
    }


def get_bytes(writer: S3AvroWriter, key: str) -> bytes:
    body: bytes = writer._s3.get_object(Bucket=writer.bucket, Key=key)["Body"].read()
    return body


def test_a_part_lands_under_the_run_key_and_reads_back_equal(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    writer = make_writer(moto_server, tmp_path)
    run = make_run()
    records = [
        envelope(run, 1, stock=3, tags=["a"], seller={"name": "Ann"}),
        envelope(run, 2),
    ]
    written = writer.write_part(run, 1, 0, AVRO_SCHEMA, records)
    assert written.key == (
        f"org=org-1/project=proj-1/report=rep-1/run={run.run_id}/part-001-00000.avro"
    )
    assert written.records == 2
    assert writer.part_keys(run) == [written.key]
    read = writer.read_part(written.key)
    assert read == [to_avro_record(r, AVRO_SCHEMA) for r in records]
    assert isinstance(read[0]["payload"]["stock"], int)
    assert isinstance(read[0]["payload"]["price"], float)
    assert read[0]["payload"]["seller"] == {"name": "Ann", "_additional": None}
    assert read[1]["payload"]["stock"] is None


def test_rewriting_a_part_is_byte_identical_whatever_the_order_and_repeats(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    writer = make_writer(moto_server, tmp_path)
    run = make_run()
    records = [envelope(run, s) for s in range(1, 11)]
    first = writer.write_part(run, 1, 0, AVRO_SCHEMA, records)
    original = get_bytes(writer, first.key)
    replay = [*reversed(records), records[3], records[7]]  # a replay may repeat records
    second = writer.write_part(run, 1, 0, AVRO_SCHEMA, replay)
    assert second == first
    assert get_bytes(writer, first.key) == original
    assert [r["sequence"] for r in writer.read_part(first.key)] == list(range(1, 11))


def test_a_run_is_split_into_parts_by_sequence_range(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    writer = make_writer(moto_server, tmp_path, part_records=10)
    run = make_run()
    records = [envelope(run, s) for s in range(1, 26) if s != 13]  # 13 was rejected
    parts: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        parts.setdefault(writer.part_for(record["sequence"]), []).append(record)
    for n, batch in sorted(parts.items()):
        writer.write_part(run, 1, n, AVRO_SCHEMA, batch)
    keys = writer.part_keys(run)
    assert keys == [part_key(run, 1, n) for n in (0, 1, 2)]
    sequences = [[r["sequence"] for r in writer.read_part(k)] for k in keys]
    assert sequences == [
        list(range(1, 11)),
        [s for s in range(11, 21) if s != 13],
        [21, 22, 23, 24, 25],
    ]


def test_a_record_outside_the_part_range_or_run_is_refused(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    writer = make_writer(moto_server, tmp_path, part_records=10)
    run = make_run()
    with pytest.raises(ValueError, match="outside part 0"):
        writer.write_part(run, 1, 0, AVRO_SCHEMA, [envelope(run, 11)])
    with pytest.raises(ValueError, match="another run"):
        writer.write_part(run, 1, 0, AVRO_SCHEMA, [envelope(make_run(), 1)])
    with pytest.raises(ValueError, match="another attempt"):
        writer.write_part(run, 2, 0, AVRO_SCHEMA, [envelope(run, 1)])
    assert writer.part_keys(run) == []


def test_a_part_is_invisible_until_written_whole(moto_server: MotoServer, tmp_path: Path) -> None:
    writer = make_writer(moto_server, tmp_path, part_records=20_000)
    run = make_run()
    records = [envelope(run, s, tags=["x" * 40] * 3) for s in range(1, 20_001)]
    key = writer.part_key(run, 1, 0)
    with pytest.raises(ClientError):
        writer._s3.head_object(Bucket=writer.bucket, Key=key)
    seen_counts: set[int] = set()
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            try:
                seen_counts.add(len(writer.read_part(key)))
            except ClientError:
                seen_counts.add(0)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        writer.write_part(run, 1, 0, AVRO_SCHEMA, records)
    finally:
        done.set()
        poller.join()
    assert seen_counts <= {0, 20_000}  # never a partial object
    assert len(writer.read_part(key)) == 20_000


def test_part_for_maps_sequences_to_ranges() -> None:
    assert [part_for(s, 10) for s in (1, 10, 11, 20, 21)] == [0, 0, 1, 1, 2]
    with pytest.raises(ValueError):
        part_for(0, 10)
    with pytest.raises(ValueError):
        part_for(1, 0)


def test_ensure_bucket_is_idempotent(moto_server: MotoServer, tmp_path: Path) -> None:
    writer = make_writer(moto_server, tmp_path)
    writer.ensure_bucket()
    writer._s3.head_bucket(Bucket=writer.bucket)
