"""The crash-safe record buffer between a crawler and Kinesis (the Fluent role), writer side.

A crawler appends each record, wrapped in its envelope, as one JSON line to the open chunk
`chunk-<n>.open` in its attempt's `buffer/` directory; a chunk is sealed (renamed to
`chunk-<n>.jsonl`, after an fsync) when it reaches its record or byte limit and when the
crawler closes the buffer, which also writes the `DONE` marker. The forwarder
(trawl.crawlers.forwarder) ships sealed chunks with PutRecords and deletes a chunk only when
Kinesis acknowledged every record in it. A crawler killed mid-write leaves at most a torn
last line in its open chunk, which the reader skips: a record counts as emitted once its
line is complete.

Record ids are stable: the report's key fields when it declares them, else a hash of the
record, so the stream stage can drop a record delivered twice."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OPEN_SUFFIX = ".open"
SEALED_SUFFIX = ".jsonl"
CHUNK_PREFIX = "chunk-"
DONE_MARKER = "DONE"
# Kinesis caps a record (data + partition key) at 1 MiB; keep room for the key.
MAX_RECORD_BYTES = 1024 * 1024 - 256
DEFAULT_CHUNK_RECORDS = 500
DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024


class RecordTooLarge(ValueError):
    """The enveloped record would not fit in one Kinesis record."""


@dataclass(frozen=True, slots=True)
class RunIdentity:
    organization_id: str
    project_id: str
    report_id: str
    run_id: str
    attempt: int


def canonical_json(value: Any) -> str:
    """Strict JSON: NaN/infinity are refused (ValueError) since the stream stage could not
    read them; ASCII escapes keep lone surrogates from scraped text encodable."""
    return json.dumps(
        value,
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=True,
        allow_nan=False,
        default=str,
    )


def record_id(payload: dict[str, Any], key_fields: list[str] | None = None) -> str:
    """From the key fields when every one is present, else from the whole record."""
    if key_fields and all(payload.get(k) is not None for k in key_fields):
        basis = "k:" + canonical_json([payload[k] for k in key_fields])
    else:
        basis = "h:" + canonical_json(payload)
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def envelope(
    identity: RunIdentity, payload: dict[str, Any], sequence: int, rid: str
) -> dict[str, Any]:
    return {
        "record_id": rid,
        "organization_id": identity.organization_id,
        "project_id": identity.project_id,
        "report_id": identity.report_id,
        "run_id": identity.run_id,
        "attempt": identity.attempt,
        "sequence": sequence,
        "emitted_at": datetime.now(UTC).isoformat(),
        "payload": payload,
    }


def chunk_name(number: int, suffix: str) -> str:
    return f"{CHUNK_PREFIX}{number:08d}{suffix}"


class BufferWriter:
    """Appends enveloped records; one writer per attempt (the crawler process)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_records: int = DEFAULT_CHUNK_RECORDS,
        max_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        self.directory = directory
        self.max_records = max_records
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._number = self._next_number()
        self._file: Any = None
        self._records = 0
        self._bytes = 0

    def _next_number(self) -> int:
        numbers = [
            int(p.name[len(CHUNK_PREFIX) :].split(".")[0])
            for p in self.directory.glob(f"{CHUNK_PREFIX}*")
        ]
        return max(numbers, default=0) + 1

    def append(self, record: dict[str, Any]) -> int:
        """Writes one enveloped record; returns its size in bytes."""
        line = canonical_json(record).encode() + b"\n"
        if len(line) - 1 > MAX_RECORD_BYTES:
            raise RecordTooLarge(
                f"record {record.get('record_id')} is {len(line) - 1} bytes; "
                f"a Kinesis record holds at most {MAX_RECORD_BYTES}"
            )
        if self._file is None:
            path = self.directory / chunk_name(self._number, OPEN_SUFFIX)
            self._file = path.open("ab")
        self._file.write(line)
        self._file.flush()
        self._records += 1
        self._bytes += len(line)
        if self._records >= self.max_records or self._bytes >= self.max_bytes:
            self.seal()
        return len(line) - 1

    def seal(self) -> None:
        """Makes the open chunk visible to the forwarder (whole, after an fsync)."""
        if self._file is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        open_path = self.directory / chunk_name(self._number, OPEN_SUFFIX)
        open_path.rename(self.directory / chunk_name(self._number, SEALED_SUFFIX))
        self._number += 1
        self._records = 0
        self._bytes = 0

    def close(self) -> None:
        """Seals the last chunk and tells the forwarder no more records will come."""
        self.seal()
        (self.directory / DONE_MARKER).write_text(datetime.now(UTC).isoformat())
