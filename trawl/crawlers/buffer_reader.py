"""The reader side of the record buffer (the writer is trawl.crawlers.buffer): which chunks
wait to be shipped, the records in one, and sealing what a dead writer left open.

A chunk's records are addressed by their line index, which is how the forwarder remembers
which of them Kinesis acknowledged. A line that does not parse as a JSON object is torn (its
writer died mid-write) and is skipped: a record counts as emitted once its line is whole."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from trawl.crawlers.buffer import (
    CHUNK_PREFIX,
    DONE_MARKER,
    OPEN_SUFFIX,
    SEALED_SUFFIX,
    canonical_json,
)

# The crawler's buffer lives here, inside its attempt (working) directory.
BUFFER_DIRNAME = "buffer"
# A Kinesis partition key is at most 256 unicode characters.
MAX_PARTITION_KEY_CHARS = 256


def buffer_dir(attempt_dir: Path) -> Path:
    return attempt_dir / BUFFER_DIRNAME


@dataclass(frozen=True, slots=True)
class BufferedRecord:
    """One whole line of a chunk: `data` is what goes to Kinesis, byte for byte."""

    index: int
    data: bytes
    partition_key: str
    record_id: str | None


@dataclass(frozen=True, slots=True)
class ChunkContents:
    records: list[BufferedRecord]
    # Line indexes that did not parse (a torn last line, or damage).
    torn: list[int] = field(default_factory=list)


def chunk_number(path: Path) -> int | None:
    """The chunk's number, or None for a file that is not a chunk."""
    name = path.name
    if not name.startswith(CHUNK_PREFIX):
        return None
    digits = name[len(CHUNK_PREFIX) :].split(".", 1)[0]
    return int(digits) if digits.isdigit() else None


def _chunks(directory: Path, suffix: str) -> list[Path]:
    found = [
        path
        for path in directory.glob(f"{CHUNK_PREFIX}*{suffix}")
        if path.name.endswith(suffix) and chunk_number(path) is not None
    ]
    return sorted(found, key=lambda path: chunk_number(path) or 0)


def sealed_chunks(directory: Path) -> list[Path]:
    """Chunks ready to ship, oldest first."""
    return _chunks(directory, SEALED_SUFFIX)


def open_chunks(directory: Path) -> list[Path]:
    return _chunks(directory, OPEN_SUFFIX)


def is_done(directory: Path) -> bool:
    return (directory / DONE_MARKER).exists()


def seal_abandoned(directory: Path) -> list[Path]:
    """Seals every open chunk; only for a writer known to be dead (or done). Returns the
    sealed paths. Its torn last line, if any, stays and is skipped when read."""
    sealed: list[Path] = []
    for path in open_chunks(directory):
        with path.open("rb") as file:
            os.fsync(file.fileno())
        target = path.with_name(path.name[: -len(OPEN_SUFFIX)] + SEALED_SUFFIX)
        path.rename(target)
        sealed.append(target)
    return sealed


def mark_done(directory: Path) -> bool:
    """Writes the DONE marker unless present; True when this call wrote it."""
    marker = directory / DONE_MARKER
    if marker.exists():
        return False
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text(datetime.now(UTC).isoformat())
    return True


def partition_key(record: dict[str, object], data: bytes) -> str:
    """Spreads a run's records across shards: Kinesis hashes the key (MD5) to pick the shard,
    and run, attempt and sequence differ for every record of a run."""
    run_id, attempt, sequence = record.get("run_id"), record.get("attempt"), record.get("sequence")
    if run_id is None or sequence is None:
        return hashlib.md5(data, usedforsecurity=False).hexdigest()
    return f"{run_id}:{attempt}:{sequence}"[:MAX_PARTITION_KEY_CHARS]


IDENTITY_FIELDS = ("organization_id", "project_id", "report_id", "run_id", "attempt")


def with_identity(record: BufferedRecord, identity: dict[str, object]) -> BufferedRecord | None:
    """The record stamped with the run's identity; None when it already carried it.

    The crawler (plugin code) writes the envelope, but which organization, project, report
    and run a record belongs to is the platform's to say: a record claiming another one is
    rewritten to its own, so no crawler can put records into another tenant's dataset."""
    envelope = json.loads(record.data)
    if all(envelope.get(k) == v for k, v in identity.items()):
        return None
    envelope.update(identity)
    data = canonical_json(envelope).encode()
    return BufferedRecord(
        index=record.index,
        data=data,
        partition_key=partition_key(envelope, data),
        record_id=record.record_id,
    )


def parse_line(index: int, raw: bytes) -> BufferedRecord | None:
    """None when the line is not a whole JSON object."""
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    rid = record.get("record_id")
    return BufferedRecord(
        index=index,
        data=raw,
        partition_key=partition_key(record, raw),
        record_id=rid if isinstance(rid, str) else None,
    )


def read_chunk(path: Path) -> ChunkContents:
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    records: list[BufferedRecord] = []
    torn: list[int] = []
    for index, raw in enumerate(lines):
        record = parse_line(index, raw)
        if record is None:
            torn.append(index)
        else:
            records.append(record)
    return ChunkContents(records=records, torn=torn)
