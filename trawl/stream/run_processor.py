"""The job's one record stage, keyed by run: validate, de-duplicate, count, and feed the sinks.

Validation, de-duplication, stats and both sinks run in one keyed Python function rather
than a chain of operators: every Python operator boundary costs a serialisation round trip
between the JVM and the Python worker, and on the prototype four operators managed about
700 records/s on two cores (docs/stream-research/FINDINGS.md §4). Keying by run keeps a
run's counters, its pending Avro parts and its seen record ids in one place; parallelism
spreads runs, not the records of one run.

Per record:
1. Parse. Not JSON, not an envelope, or naming another run than its partition key: dead
   letter (raw text and reason), counted as rejected.
2. Place (attempt, sequence) in the run's book: a second delivery of the same one is a
   Kinesis redelivery, counted as a duplicate and dropped.
3. Validate against the report's record schema (cached per report, refreshed every
   `SCHEMA_TTL_SECONDS` and compared by version); the report must belong to the record's
   organization and project. Invalid: dead letter + rejected.
4. De-duplicate on the record id in keyed MapState (TTL `stream_dedupe_ttl_hours` from the
   first sighting; repeats come from forwarder and Kinesis retries, minutes apart): a repeat
   is counted as a duplicate and dropped.
5. Accepted: converted to the run's Avro schema (a value Avro cannot hold is a dead letter),
   buffered for MongoDB, held as JSON in keyed MapState (`held_records`, keyed by
   "attempt:sequence") until its part is written; the book only marks its sequence placed.

MongoDB writes are buffered in the operator and flushed at MONGO batch size and whenever the
bundle finishes (flush_hook): a bundle always finishes before a checkpoint barrier passes,
so a checkpoint never covers a record that is not in MongoDB. Avro parts are written whole
by `S3AvroWriter` as soon as they are complete. Both are idempotent, so the records replayed
after a restore rewrite the same documents and the same objects.

Stats go to the reports service from a processing-time timer, at most once per
`stream_stats_interval_seconds` per run, as absolute totals, each time after flushing the
MongoDB buffer; a failed report is retried at the next tick and never fails the job, and the
stats of a run the service no longer knows (deleted) are dropped."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

import grpc
from pyflink.common import Time, Types
from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import (
    MapStateDescriptor,
    StateTtlConfig,
    ValueStateDescriptor,
)

from trawl.config import Settings
from trawl.crawlers.forwarder.records import END_MARKER_KIND
from trawl.stream import flush_hook
from trawl.stream.avro_schema import AvroConversionError, derive_avro_schema, to_avro_record
from trawl.stream.dedupe import SEEN, Verdict, verdict
from trawl.stream.run_book import Envelope, ReadyPart, RunBook, held_key
from trawl.stream.services import ServicesError, ServicesUnavailable, StreamServices
from trawl.stream.sinks.mongo import MAX_OPS_PER_COMMAND, MongoRecordSink
from trawl.stream.sinks.s3_avro import RunKey, S3AvroWriter
from trawl.stream.validation import Invalid, RecordValidator, envelope_problem

log = logging.getLogger(__name__)

SCHEMA_TTL_SECONDS = 30.0
NOT_FOUND = grpc.StatusCode.NOT_FOUND.name  # ServicesError.code of an unknown run


def _slot(envelope: Mapping[str, Any]) -> tuple[int, int] | None:
    """(attempt, sequence) when both are positive integers, whatever else is wrong."""
    attempt, sequence = envelope.get("attempt"), envelope.get("sequence")
    for value in (attempt, sequence):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            return None
    assert isinstance(attempt, int) and isinstance(sequence, int)
    return attempt, sequence


def parse(raw: str) -> Mapping[str, Any] | str:
    """The JSON object in `raw`, or why there is none."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        return f"record is not valid JSON: {exc}"
    if not isinstance(value, dict):
        return f"record is not a JSON object but {type(value).__name__}"
    return value


def is_end_marker(value: Mapping[str, Any]) -> bool:
    return value.get("control") == END_MARKER_KIND


class RunProcessor(KeyedProcessFunction):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.part_records = settings.avro_part_records
        # The lock and buffers are made in open(): this object is pickled into the job.

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self, runtime_context: RuntimeContext) -> None:
        settings = self.settings
        ttl = StateTtlConfig.new_builder(
            Time.seconds(int(settings.stream_dedupe_ttl_hours * 3600))
        ).build()
        book = ValueStateDescriptor("run_book", Types.PICKLED_BYTE_ARRAY())
        book.enable_time_to_live(ttl)
        seen = MapStateDescriptor("seen_record_ids", Types.STRING(), Types.BOOLEAN())
        seen.enable_time_to_live(ttl)
        self._book = runtime_context.get_state(book)
        held = MapStateDescriptor("held_records", Types.STRING(), Types.STRING())
        held.enable_time_to_live(ttl)
        self._seen = runtime_context.get_map_state(seen)
        self._held = runtime_context.get_map_state(held)
        self._lock = threading.Lock()
        self._to_store: list[Envelope] = []
        self._services = StreamServices(settings)
        self._reports: dict[str, Any] = {}
        self._validator = RecordValidator(self._schema_for, ttl_seconds=SCHEMA_TTL_SECONDS)
        self._mongo = MongoRecordSink.from_settings(
            settings, chunk_size=min(MAX_OPS_PER_COMMAND, settings.stream_mongo_batch)
        )
        self._mongo.ensure_indexes()
        self._avro = S3AvroWriter(settings)
        self._avro.ensure_bucket()
        flush_hook.install(self.flush)

    def close(self) -> None:
        flush_hook.uninstall(self.flush)
        self.flush()
        self._mongo.close()
        self._services.close()

    # -- records -----------------------------------------------------------------------------

    def process_element(self, value: tuple[str, str], ctx: Any) -> Iterator[Any]:
        run_key, raw = value
        book: RunBook = self._book.value() or RunBook()
        parsed = parse(raw)
        if isinstance(parsed, str):
            self._reject(book, raw, parsed)
        elif is_end_marker(parsed):
            self._end_attempt(book, parsed)
        else:
            self._record(book, run_key, raw, parsed)
        self._book.update(book)
        self._schedule_tick(ctx)
        return iter(())

    def _record(self, book: RunBook, run_key: str, raw: str, envelope: Mapping[str, Any]) -> None:
        problem = envelope_problem(envelope)
        if problem is None and envelope["run_id"] != run_key:
            problem = "record names another run than its partition key"
        if problem is None and envelope["sequence"] < 1:
            problem = "record sequence must be 1 or more"
        if problem is not None:
            self._reject_malformed(book, raw, envelope, problem)
            return
        attempt, sequence = int(envelope["attempt"]), int(envelope["sequence"])
        if not book.place(attempt, sequence, self.part_records):
            book.count(duplicates=1)  # the same delivery again: Kinesis at-least-once
            return
        self._judge(book, raw, envelope)
        self._write_ready(book, book.ready_parts(attempt, self.part_records))

    def _reject_malformed(
        self, book: RunBook, raw: str, envelope: Mapping[str, Any], problem: str
    ) -> None:
        """A record whose envelope is wrong still counts in the end marker's total: placed
        when its (attempt, sequence) can be read, so its attempt can complete, and a second
        delivery of it is a duplicate, not a second rejection."""
        slot = _slot(envelope)
        if slot is None:
            self._reject(book, raw, problem)
            return
        attempt, sequence = slot
        if not book.place(attempt, sequence, self.part_records):
            book.count(duplicates=1)
            return
        self._reject(book, raw, problem)
        self._write_ready(book, book.ready_parts(attempt, self.part_records))

    def _judge(self, book: RunBook, raw: str, envelope: Mapping[str, Any]) -> None:
        """Decides a newly placed record: rejected, duplicate or accepted."""
        result = self._validator.validate(envelope)
        if isinstance(result, Invalid):
            self._reject(book, raw, result.reason)
            return
        owner = self._reports.get(str(envelope["report_id"]))
        if owner is None or (owner.organization_id, owner.project_id) != (
            envelope["organization_id"],
            envelope["project_id"],
        ):
            # A record must never reach another tenant's dataset, whatever it claims.
            self._reject(book, raw, "record names an organization or project its report is not in")
            return
        book.identify(envelope)
        record_id = str(envelope["record_id"])
        if verdict(self._seen.get(record_id)) is Verdict.DUPLICATE:
            book.count(duplicates=1)
            return
        if book.avro_schema is None:
            book.avro_schema = derive_avro_schema(owner.schema)
        try:
            to_avro_record(envelope, book.avro_schema)
        except AvroConversionError as exc:
            self._reject(book, raw, f"record does not fit the run's Avro schema: {exc}")
            return
        self._seen.put(record_id, SEEN)
        stored = dict(envelope)
        key = held_key(int(envelope["attempt"]), int(envelope["sequence"]))
        self._held.put(key, json.dumps(stored))
        book.count(accepted=1, stored_bytes=len(raw))
        self._store(stored)

    def _reject(self, book: RunBook, raw: str, reason: str) -> None:
        self._dead_letter(raw, reason)
        book.count(rejected=1)

    def _end_attempt(self, book: RunBook, marker: Mapping[str, Any]) -> None:
        try:
            attempt, shipped = int(marker["attempt"]), int(marker["records"])
        except (KeyError, TypeError, ValueError):
            log.warning("stream job: malformed end marker %r", dict(marker))
            return
        if not book.organization_id and isinstance(marker.get("organization_id"), str):
            book.organization_id = marker["organization_id"]
        book.end_attempt(attempt, shipped)
        self._write_ready(book, book.ready_parts(attempt, self.part_records))

    def _write_ready(self, book: RunBook, parts: list[ReadyPart]) -> None:
        for part in parts:
            keys: list[str] = []
            envelopes: list[Envelope] = []
            for sequence in part.sequences:
                key = held_key(part.attempt, sequence)
                held = self._held.get(key)
                if held is not None:  # none for a rejected or duplicate record
                    keys.append(key)
                    envelopes.append(json.loads(held))
            if not envelopes:
                continue  # every record of the range was rejected or a duplicate
            assert book.avro_schema is not None  # set with the first accepted record
            run = RunKey(book.organization_id, book.project_id, book.report_id, book.run_id)
            self._avro.write_part(run, part.attempt, part.n, book.avro_schema, envelopes)
            for key in keys:
                self._held.remove(key)

    # -- sinks -------------------------------------------------------------------------------

    def _store(self, envelope: Envelope) -> None:
        with self._lock:
            self._to_store.append(envelope)
            full = len(self._to_store) >= self.settings.stream_mongo_batch
        if full:
            self.flush()

    def flush(self) -> None:
        """Writes the buffered records (bundle finish, batch full, close). Raises
        SinkUnavailable when MongoDB stays down, which fails the bundle: Flink then restores
        from the last checkpoint and replays, so nothing is lost."""
        with self._lock:
            batch, self._to_store = self._to_store, []
            if batch:
                self._mongo.write(batch)

    def _dead_letter(self, raw: str, reason: str) -> None:
        self._mongo.dead_letter(raw, reason)

    # -- schemas -----------------------------------------------------------------------------

    def _schema_for(self, report_id: str) -> tuple[Hashable, Mapping[str, Any]] | None:
        info = self._services.record_schema(report_id)
        if info is None:
            self._reports.pop(report_id, None)
            return None
        self._reports[report_id] = info
        return info.version, info.schema

    # -- stats -------------------------------------------------------------------------------

    def _schedule_tick(self, ctx: Any) -> None:
        interval_ms = max(100, int(self.settings.stream_stats_interval_seconds * 1000))
        now = ctx.timer_service().current_processing_time()
        # Timers with the same timestamp are kept once per key: no state needed to dedupe.
        ctx.timer_service().register_processing_time_timer((now // interval_ms + 1) * interval_ms)

    def on_timer(self, timestamp: int, ctx: Any) -> Iterator[Any]:
        book: RunBook | None = self._book.value()
        if book is None:
            return iter(())
        run_id = str(ctx.get_current_key())
        if book.dirty and book.organization_id:
            # MongoDB first: a complete attempt lets the service announce the run's dataset
            # (RunDatasetReady), which must never happen while its records are still buffered.
            self.flush()
            self._report_stats(run_id, book)
            self._book.update(book)
        if book.dirty:
            self._schedule_tick(ctx)
        return iter(())

    def _report_stats(self, run_id: str, book: RunBook) -> None:
        """Sends the run's totals; clears `book.dirty` once they need no more sending. Never
        raises a ServicesError: failing the job would only restore it, fail again on the same
        run and stop every tenant's records."""
        try:
            self._services.report_stream_stats(
                run_id,
                book.organization_id,
                accepted=book.accepted,
                rejected=book.rejected,
                duplicates=book.duplicates,
                stored_bytes=book.stored_bytes,
                complete_attempt=book.complete_attempt,
            )
        except ServicesUnavailable as exc:
            log.warning("stream job: stats for run %s not reported, retrying: %s", run_id, exc)
            return
        except ServicesError as exc:
            if exc.code == NOT_FOUND:
                # The run is gone (deleted with its project) or is not the organization's its
                # records claim: retrying cannot help. New records would try once more.
                log.warning(
                    "stream job: run %s is unknown to the reports service, its stats are "
                    "dropped: %s",
                    run_id,
                    exc,
                )
                book.dirty = False
                return
            log.error(
                "stream job: stats for run %s refused (%s), retrying: %s",
                run_id,
                exc.code or "no code",
                exc,
            )
            return
        book.dirty = False
