"""The S3 Avro history of a run's records: deterministic parts written whole.

Objects live at `org=<id>/project=<id>/report=<id>/run=<id>/part-<attempt:03d>-<n:05d>.avro`
in the records bucket. Crawlers number records from 1 within each attempt, so part n of an
attempt holds exactly the records whose `sequence` lies in [n*K + 1, (n+1)*K],
K = settings.avro_part_records; the attempt is in the name because a retried attempt numbers
its records from 1 again (its repeats of the earlier attempt's records are dropped upstream,
its new records must not overwrite the earlier parts). The stream job buffers a run's records
in keyed state and calls `write_part` once every sequence of the range was seen (accepted,
rejected or dropped as a duplicate) or the attempt ended.

Each part is encoded in memory and stored with one PutObject, so a reader never sees a
partial file. The bytes depend only on the key, the Avro schema and the set of records:
records are sorted by (sequence, record_id), a repeated record id is kept once, the sync
marker is derived from the key and the codec is deterministic. A replay after recovery
therefore rewrites byte-identical objects under the same keys: no record is lost, none
lands in two files."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import fastavro
from botocore.exceptions import ClientError

from trawl.config import Settings
from trawl.events.aws import aws_client
from trawl.stream.avro_schema import to_avro_record

CODEC = "deflate"
CONTENT_TYPE = "application/avro"
_SYNC_MARKER_BYTES = 16
_BUCKET_EXISTS = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


@dataclass(frozen=True, slots=True)
class RunKey:
    """The ids that place a run's parts in the bucket."""

    organization_id: str
    project_id: str
    report_id: str
    run_id: str

    @classmethod
    def of(cls, envelope: Mapping[str, Any]) -> RunKey:
        return cls(
            str(envelope["organization_id"]),
            str(envelope["project_id"]),
            str(envelope["report_id"]),
            str(envelope["run_id"]),
        )


@dataclass(frozen=True, slots=True)
class WrittenPart:
    key: str
    records: int
    size: int


def part_for(sequence: int, part_records: int) -> int:
    """The part holding `sequence` (1-based): part n holds [n*K + 1, (n+1)*K]."""
    if part_records <= 0:
        raise ValueError("part_records must be positive")
    if sequence < 1:
        raise ValueError("sequences start at 1")
    return (sequence - 1) // part_records


def part_range(n: int, part_records: int) -> range:
    """The sequences part n holds."""
    return range(n * part_records + 1, (n + 1) * part_records + 1)


def run_prefix(run: RunKey) -> str:
    return (
        f"org={run.organization_id}/project={run.project_id}/"
        f"report={run.report_id}/run={run.run_id}/"
    )


def part_key(run: RunKey, attempt: int, n: int) -> str:
    return f"{run_prefix(run)}part-{attempt:03d}-{n:05d}.avro"


def sync_marker(key: str) -> bytes:
    """A fixed 16-byte sync marker per object key (fastavro picks a random one otherwise)."""
    return hashlib.sha256(key.encode()).digest()[:_SYNC_MARKER_BYTES]


def ordered_unique(envelopes: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Sorted by (sequence, record_id); a record id seen again is dropped."""
    ordered = sorted(envelopes, key=lambda e: (int(e["sequence"]), str(e["record_id"])))
    seen: set[str] = set()
    unique: list[Mapping[str, Any]] = []
    for envelope in ordered:
        if envelope["record_id"] not in seen:
            seen.add(envelope["record_id"])
            unique.append(envelope)
    return unique


def encode_part(
    key: str, avro_schema: Mapping[str, Any], envelopes: Iterable[Mapping[str, Any]]
) -> tuple[bytes, int]:
    """The Avro object for `envelopes` and how many records it holds."""
    records = [to_avro_record(e, avro_schema) for e in ordered_unique(envelopes)]
    buffer = io.BytesIO()
    fastavro.writer(
        buffer,
        fastavro.parse_schema(dict(avro_schema)),
        records,
        codec=CODEC,
        sync_marker=sync_marker(key),
    )
    return buffer.getvalue(), len(records)


def _check_belongs(
    run: RunKey, attempt: int, n: int, part_records: int, envelopes: list[Mapping[str, Any]]
) -> None:
    sequences = part_range(n, part_records)
    for envelope in envelopes:
        if RunKey.of(envelope) != run:
            raise ValueError(f"record {envelope['record_id']} belongs to another run")
        if envelope.get("attempt") != attempt:
            raise ValueError(f"record {envelope['record_id']} belongs to another attempt")
        if envelope["sequence"] not in sequences:
            raise ValueError(
                f"record {envelope['record_id']} has sequence {envelope['sequence']}, "
                f"outside part {n} ({sequences.start}..{sequences.stop - 1})"
            )


class S3AvroWriter:
    """Writes whole Avro parts to the records bucket (blocking boto3 calls)."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.bucket = settings.records_bucket
        self.part_records = settings.avro_part_records
        self._region = settings.aws_region
        self._s3: Any = client if client is not None else aws_client(settings, "s3")

    def ensure_bucket(self) -> None:
        """Creates the bucket unless it exists (safe to race)."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self._region != "us-east-1":  # us-east-1 refuses an explicit location
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        try:
            self._s3.create_bucket(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _BUCKET_EXISTS:
                raise

    part_key = staticmethod(part_key)

    def part_for(self, sequence: int) -> int:
        return part_for(sequence, self.part_records)

    def write_part(
        self,
        run: RunKey,
        attempt: int,
        n: int,
        avro_schema: Mapping[str, Any],
        envelopes: Iterable[Mapping[str, Any]],
    ) -> WrittenPart:
        """Stores part n of the run's attempt as one object; rewriting it with the same
        records gives the same bytes. An empty part is written too (a header-only file)."""
        batch = list(envelopes)
        _check_belongs(run, attempt, n, self.part_records, batch)
        key = part_key(run, attempt, n)
        body, count = encode_part(key, avro_schema, batch)
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=CONTENT_TYPE)
        return WrittenPart(key, count, len(body))

    def part_keys(self, run: RunKey) -> list[str]:
        """The keys of the run's parts, in part order."""
        paginator = self._s3.get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=run_prefix(run)):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def read_part(self, key: str) -> list[dict[str, Any]]:
        """The records of one part, as fastavro reads them."""
        body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return [r for r in fastavro.reader(io.BytesIO(body)) if isinstance(r, dict)]
