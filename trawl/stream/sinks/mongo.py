"""The MongoDB records sink: idempotent bulk upserts of validated records, plus dead letters.

Layout. One shared `records` collection for every organization, with an indexed
`organization_id`, rather than one collection per organization: thousands of organizations
times four indexes each would exhaust the server's file handles and catalog (WiredTiger
keeps one file per collection and per index; FerretDB's SQLite backend a table and indexes
each), and every read already filters by the organization from the verified token, so the
org field leads every index. Indexes serve
the dataset queries: (organization_id, run_id, sequence) for a run's records in emit order,
(organization_id, report_id, run_id) for a report's datasets, (organization_id, project_id)
for project-wide counts and clean-up.

Idempotence. `_id` is `f"{run_id}:{record_id}"`, so a record replayed after a Flink restore
upserts onto itself. Each record is written with `UpdateOne({"_id": id},
{"$setOnInsert": doc}, upsert=True)`, not ReplaceOne: a replay changes nothing and is
reported as matched (ReplaceOne of an unchanged document counts as modified on FerretDB and
rewrites it), and the first delivery wins, as in the stream's de-duplication. Invalid records
go to `dead_letters` (reason, raw payload as JSON text, ids, `at`) with the same stable
`_id`, so dead-lettering twice stores one document.

Payload keys. MongoDB/FerretDB reject field names containing "." or starting with "$", so
payload keys are escaped reversibly ("%" stands for U+FF05 FULLWIDTH PERCENT SIGN):
"." -> U+FF0E anywhere, "$" -> U+FF04 at the start of a key, and a literal U+FF0E, U+FF05,
or a U+FF04 at the start of a key, is prefixed with U+FF05. `read_payload(doc)` undoes it.

FerretDB 1.24 (SQLite) quirks this sink is built around (measured):
1. an `update` command holds one SQLite connection per matched statement until it ends, from
   a pool of 100 per database; more than ~100 in flight hangs the database. Commands carry at
   most `MAX_OPS_PER_COMMAND` (50) operations and the client has socket and server-selection
   timeouts. Writers in parallel on one database must keep sinks x chunk_size under 100.
2. a bulk update with a write error stops at that statement and pymongo may raise
   KeyError('nModified') instead of BulkWriteError; 3. concurrent upserts of one new key raise
   DuplicateKeyError (MongoDB retries those itself). Both: any failed chunk is retried whole
   (the upserts are idempotent) with a bounded exponential backoff.
4. NaN and Decimal128 drop the connection and +-Infinity is rejected. Such values are refused
   before sending (dead letter). A chunk that still fails after its retries is written one
   document at a time; a document that fails every attempt while the server answers a ping is
   poison and goes to dead letters (counted), so one bad record never blocks the stream. When
   the server does not answer, nothing is dead-lettered: `SinkUnavailable` is raised and the
   Flink job fails over and replays from its checkpoint.

Counts: `WriteResult.matched` counts records already stored (replays). A chunk retried after
a partial success counts its first-attempt inserts as matched. The sink holds no mutable
state besides the client, so `write` may be called from several threads."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from hashlib import sha256
from typing import Any

from bson import Decimal128
from bson.errors import BSONError
from pymongo import ASCENDING, MongoClient, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from trawl.config import Settings

log = logging.getLogger(__name__)

Doc = dict[str, Any]
RECORDS = "records"
DEAD_LETTERS = "dead_letters"
MAX_OPS_PER_COMMAND = 50
ENVELOPE_FIELDS = (
    "record_id",
    "organization_id",
    "project_id",
    "report_id",
    "run_id",
    "attempt",
    "sequence",
    "emitted_at",
)
REQUIRED_FIELDS = ("record_id", "organization_id", "run_id")
RECORD_INDEXES = (
    ("organization_id", "run_id", "sequence"),
    ("organization_id", "run_id", "attempt", "sequence", "record_id"),  # dataset pages
    ("organization_id", "report_id", "run_id"),
    ("organization_id", "project_id"),
)
DEAD_LETTER_INDEXES = (("organization_id", "run_id"),)
# Deterministic failures raised by the client while encoding: retrying cannot help.
CLIENT_ERRORS: tuple[type[Exception], ...] = (BSONError, OverflowError, ValueError)
# Server and protocol failures (KeyError: FerretDB's answer without nModified, quirk 2).
SERVER_ERRORS: tuple[type[Exception], ...] = (PyMongoError, KeyError)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

DOT, DOLLAR, ESC = "\uff0e", "\uff04", "\uff05"


class SinkUnavailable(RuntimeError):
    """The server did not take a write within the retry budget and does not answer a ping."""


class PoisonValue(ValueError):
    """A payload value the server cannot store (NaN, infinity, decimals, huge ints)."""


@dataclass(slots=True)
class WriteResult:
    upserted: int = 0
    matched: int = 0
    dead_lettered: int = 0

    def add(self, other: WriteResult) -> None:
        self.upserted += other.upserted
        self.matched += other.matched
        self.dead_lettered += other.dead_lettered


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts per command and the exponential backoff between them (bounded)."""

    attempts: int = 5
    base_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2**attempt))


# -- payload keys ---------------------------------------------------------------------------


def escape_key(key: str) -> str:
    if not any(c in key for c in (".", "$", DOT, DOLLAR, ESC)):
        return key
    out = []
    for i, c in enumerate(key):
        if c == "." or (c == "$" and i == 0):
            out.append(DOT if c == "." else DOLLAR)
        elif c in (DOT, ESC) or (c == DOLLAR and i == 0):
            out.append(ESC + c)
        else:
            out.append(c)
    return "".join(out)


def unescape_key(key: str) -> str:
    if not any(c in key for c in (DOT, DOLLAR, ESC)):
        return key
    out, i = [], 0
    while i < len(key):
        c = key[i]
        if c == ESC and i + 1 < len(key):
            out.append(key[i + 1])
            i += 2
            continue
        out.append("." if c == DOT else "$" if (c == DOLLAR and i == 0) else c)
        i += 1
    return "".join(out)


def _escape_value(value: Any, path: str) -> Any:
    """Escapes keys at every depth; raises PoisonValue for values the server cannot store."""
    if isinstance(value, dict):
        return {escape_key(str(k)): _escape_value(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_escape_value(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise PoisonValue(f"non-finite number {value!r} at {path}")
    if isinstance(value, Decimal | Decimal128):
        raise PoisonValue(f"decimal value at {path}")
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise PoisonValue(f"integer outside 64 bits at {path}")
    return value


def _unescape_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {unescape_key(k): _unescape_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescape_value(v) for v in value]
    return value


def read_payload(doc: Mapping[str, Any]) -> Doc:
    """The record's payload as the crawler emitted it (keys un-escaped)."""
    payload = _unescape_value(doc.get("payload") or {})
    assert isinstance(payload, dict)
    return payload


# -- documents ------------------------------------------------------------------------------


def document_id(run_id: Any, record_id: Any) -> str:
    return f"{run_id}:{record_id}"


def record_document(envelope: Mapping[str, Any]) -> Doc:
    """The stored form of an envelope; raises PoisonValue when it cannot be stored."""
    missing = [f for f in REQUIRED_FIELDS if not envelope.get(f)]
    if missing:
        raise PoisonValue(f"envelope lacks {', '.join(missing)}")
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        raise PoisonValue("payload is not an object")
    doc: Doc = {"_id": document_id(envelope["run_id"], envelope["record_id"])}
    doc.update({f: envelope.get(f) for f in ENVELOPE_FIELDS})
    doc["payload"] = _escape_value(payload, "payload")
    doc["stored_at"] = datetime.now(UTC)
    return doc


def _raw_text(raw: Mapping[str, Any] | str | bytes) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="backslashreplace")
    if isinstance(raw, str):
        return raw
    # ensure_ascii: lone surrogates from scraped text stay encodable; NaN stays readable.
    return json.dumps(raw, sort_keys=True, ensure_ascii=True, default=str)


def dead_letter_document(raw: Mapping[str, Any] | str | bytes, reason: str) -> Doc:
    """Reason, raw text and the ids found in it; `_id` is stable for the same input."""
    text = _raw_text(raw)
    fields: Mapping[str, Any] = raw if isinstance(raw, Mapping) else _parse_object(text)
    # Absent ids are left out, not stored as null.
    ids = {f: _plain(fields[f]) for f in ENVELOPE_FIELDS if fields.get(f) is not None}
    ids.pop("emitted_at", None)
    if "run_id" in ids and "record_id" in ids:
        _id = document_id(ids["run_id"], ids["record_id"])
    else:
        _id = "raw:" + sha256(text.encode("utf-8", errors="backslashreplace")).hexdigest()
    return {"_id": _id, **ids, "reason": reason, "raw": text, "at": datetime.now(UTC)}


def _parse_object(text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _plain(value: Any) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value)


def _upsert(doc: Doc) -> UpdateOne:
    fields = {k: v for k, v in doc.items() if k != "_id"}  # _id comes from the filter
    return UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": fields}, upsert=True)


def _chunks(items: Sequence[Doc], size: int) -> Iterable[Sequence[Doc]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- the sink -------------------------------------------------------------------------------


class MongoRecordSink:
    """Writes envelopes to `records` and invalid ones to `dead_letters` (pymongo, sync)."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        chunk_size: int = MAX_OPS_PER_COMMAND,
        retry: RetryPolicy | None = None,
        server_selection_timeout_ms: int = 5_000,
        socket_timeout_ms: int = 30_000,
        **client_options: Any,
    ) -> None:
        """`client_options` go to MongoClient as they are (e.g. `event_listeners`)."""
        if not 1 <= chunk_size <= MAX_OPS_PER_COMMAND:
            raise ValueError(f"chunk_size must be within 1..{MAX_OPS_PER_COMMAND}")
        self.chunk_size = chunk_size
        self.retry = retry or RetryPolicy()
        self.client: MongoClient[Doc] = MongoClient(
            url,
            serverSelectionTimeoutMS=server_selection_timeout_ms,
            connectTimeoutMS=server_selection_timeout_ms,
            socketTimeoutMS=socket_timeout_ms,
            **client_options,
        )
        db = self.client[database]
        self.records: Collection[Doc] = db[RECORDS]
        self.dead_letters: Collection[Doc] = db[DEAD_LETTERS]

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> MongoRecordSink:
        return cls(settings.mongo_url, settings.mongo_database, **options)

    def ensure_indexes(self) -> None:
        """Creates the dataset indexes (idempotent: existing ones are left as they are)."""
        for collection, indexes in (
            (self.records, RECORD_INDEXES),
            (self.dead_letters, DEAD_LETTER_INDEXES),
        ):
            for fields in indexes:
                collection.create_index([(f, ASCENDING) for f in fields])

    def write(self, envelopes: Iterable[Mapping[str, Any]]) -> WriteResult:
        """Upserts the records in commands of at most `chunk_size`; unstorable ones go to
        dead letters. Raises SinkUnavailable when the server is down past the retries."""
        result = WriteResult()
        docs: list[Doc] = []
        for envelope in envelopes:
            try:
                docs.append(record_document(envelope))
            except PoisonValue as exc:
                self.dead_letter(envelope, f"unstorable record: {exc}")
                result.dead_lettered += 1
        for chunk in _chunks(docs, self.chunk_size):
            result.add(self._write_chunk(chunk))
        return result

    def dead_letter(self, envelope_or_raw: Mapping[str, Any] | str | bytes, reason: str) -> None:
        """Stores the raw record with its reason (idempotent: the first reason stays)."""
        doc = dead_letter_document(envelope_or_raw, reason)
        op = _upsert(doc)
        for attempt in range(self.retry.attempts):
            try:
                self.dead_letters.bulk_write([op], ordered=False)
                return
            except SERVER_ERRORS as exc:
                self._backoff(attempt, "dead letter", exc)
        raise SinkUnavailable(f"dead letter {doc['_id']} not stored")

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> MongoRecordSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _write_chunk(self, chunk: Sequence[Doc]) -> WriteResult:
        for attempt in range(self.retry.attempts):
            try:
                return self._bulk(chunk)
            except CLIENT_ERRORS:
                break  # a document the client cannot encode: find it below
            except SERVER_ERRORS as exc:
                self._backoff(attempt, f"chunk of {len(chunk)}", exc)
        result = WriteResult()
        for doc in chunk:
            result.add(self._write_single(doc))
        return result

    def _write_single(self, doc: Doc) -> WriteResult:
        reason, server_refused = "unencodable record", False
        for attempt in range(self.retry.attempts):
            try:
                return self._bulk([doc])
            except CLIENT_ERRORS as exc:
                reason = f"unencodable record: {exc!r}"
                break
            except SERVER_ERRORS as exc:
                reason = f"not stored after {self.retry.attempts} attempts: {exc!r}"
                server_refused = True
                self._backoff(attempt, "record", exc)
        if server_refused and not self._server_answers():
            raise SinkUnavailable(f"MongoDB unavailable: {reason}")
        raw = {f: doc.get(f) for f in ENVELOPE_FIELDS} | {"payload": read_payload(doc)}
        self.dead_letter(raw, reason)
        return WriteResult(dead_lettered=1)

    def _bulk(self, docs: Sequence[Doc]) -> WriteResult:
        res = self.records.bulk_write([_upsert(d) for d in docs], ordered=False)
        return WriteResult(upserted=res.upserted_count, matched=res.matched_count)

    def _server_answers(self) -> bool:
        try:
            self.client.admin.command("ping")
        except PyMongoError:
            return False
        return True

    def _backoff(self, attempt: int, what: str, exc: Exception) -> None:
        log.warning("mongo sink: %s failed (attempt %d): %r", what, attempt + 1, exc)
        if attempt + 1 < self.retry.attempts:
            time.sleep(self.retry.delay(attempt))
