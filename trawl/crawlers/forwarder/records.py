"""Ships the buffer's sealed chunks to Kinesis, oldest first, one chunk at a time.

Within a chunk, records go out in PutRecords calls of at most 500 records and 5 MiB. Records
Kinesis refused (per-record ErrorCode: throttled shard, internal failure) go out again after a
backoff, alone or with the next records, never with those already acknowledged; a call that
fails as a whole (connection refused, timeout, 5xx) is retried after a backoff, forever: the
chunk is deleted only when every one of its records is acknowledged. A record over the Kinesis
size limit cannot ever be accepted, so it is rejected: counted and told to the run's log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trawl.crawlers.buffer import canonical_json
from trawl.crawlers.buffer_reader import (
    BufferedRecord,
    is_done,
    open_chunks,
    read_chunk,
    seal_abandoned,
    sealed_chunks,
    with_identity,
)
from trawl.crawlers.forwarder.layout import RECORDS_DRAINED
from trawl.crawlers.forwarder.pacing import Backoff, Notices, Outage
from trawl.crawlers.forwarder.progress import Progress
from trawl.crawlers.kinesis import MAX_RECORD_BYTES, fits, put_batch, record_size, take_batch

END_MARKER_KIND = "attempt_end"


def end_marker(identity: dict[str, object], shipped: int) -> dict[str, object]:
    """The control record closing an attempt in the stream (see trawl.stream.run_book)."""
    return {"control": END_MARKER_KIND, **identity, "records": shipped}


class RecordShipper:
    def __init__(
        self,
        buffer: Path,
        client: Any,
        stream: str,
        progress: Progress,
        notices: Notices,
        stop: threading.Event,
        *,
        poll_seconds: float,
        backoff: Backoff,
        identity: dict[str, object] | None = None,
        writer_lost: Callable[[], bool] | None = None,
    ) -> None:
        self.identity = identity
        # In a pod: True once the crawler container died and its buffer was closed for it.
        self.writer_lost = writer_lost
        self.buffer = buffer
        self.client = client
        self.stream = stream
        self.progress = progress
        self.notices = notices
        self.stop = stop
        self.poll_seconds = poll_seconds
        self.backoff = backoff
        self.drained = threading.Event()
        self._outage = Outage("Kinesis", notices)

    def run(self) -> None:
        """Until the crawler is done and every chunk is shipped, or until stopped."""
        while not self.stop.is_set():
            # DONE is read BEFORE listing: the writer seals its last chunk and then writes
            # DONE, so DONE seen first guarantees the listing below includes that chunk.
            # (Listing first could miss a chunk sealed between the two looks.)
            done = is_done(self.buffer)
            chunks = sealed_chunks(self.buffer)
            if chunks:
                self._ship_chunk(chunks[0])
                continue
            if done:
                # DONE is written after the last seal, so an open chunk now is a dead writer's.
                if open_chunks(self.buffer):
                    seal_abandoned(self.buffer)
                    continue
                self._finish()
                return
            if self.writer_lost is not None and self.writer_lost():
                continue  # its buffer is closed now: ship what it left
            self.stop.wait(self.poll_seconds)

    def _finish(self) -> None:
        counts = self.progress.snapshot()
        if not self._send_end_marker(int(counts.get("records_shipped", 0))):
            return  # stopped before Kinesis took the marker: the next start sends it
        self.progress.update(records_drained=True)
        self.drained.set()
        self.notices.emit(
            "INFO",
            f"all records shipped to Kinesis ({counts['records_shipped']} records in "
            f"{counts['chunks_shipped']} chunks)",
            event=RECORDS_DRAINED,
        )

    def _send_end_marker(self, shipped: int) -> bool:
        """Tells the stream job how many distinct records this attempt put into Kinesis, so
        it knows when it has seen them all (and can close the attempt's Avro parts and
        declare the run's stats final). Sent after the last record was acknowledged; a
        repeat after a restart says the same. True once Kinesis acknowledged it."""
        if not self.identity:
            return True  # no run identity (the forwarder's own unit tests): nothing to close
        marker = end_marker(self.identity, shipped)
        data = canonical_json(marker).encode()
        pending = [BufferedRecord(-1, data, f"{marker['run_id']}:{marker['attempt']}:end", None)]
        while pending and not self.stop.is_set():
            try:
                result = put_batch(self.client, self.stream, pending)
            except Exception as exc:
                self._outage.failed(time.monotonic(), exc)
                self.stop.wait(self.backoff.next_delay())
                continue
            self._outage.recovered(time.monotonic())
            if result.acked:
                return True
            self.stop.wait(self.backoff.next_delay())
        return False

    def _ship_chunk(self, path: Path) -> None:
        contents = read_chunk(path)
        settled, seen = self.progress.open_chunk(path)
        if contents.torn and not seen:
            self._report_torn(path, contents.torn)
        pending = self._stamped([r for r in contents.records if r.index not in settled], path)
        oversize = [r for r in pending if not fits(r)]
        for record in oversize:
            self._reject(path, record)
        self._send([r for r in pending if fits(r)])
        if self.stop.is_set():
            return
        path.unlink()
        self.progress.close_chunk()

    def _send(self, pending: list[BufferedRecord]) -> None:
        while pending and not self.stop.is_set():
            batch = take_batch(pending)
            try:
                result = put_batch(self.client, self.stream, batch)
            except Exception as exc:
                self._outage.failed(time.monotonic(), exc)
                self.progress.add(call_failures=1)
                self.stop.wait(self.backoff.next_delay())
                continue
            self._outage.recovered(time.monotonic())
            acked = set(result.acked)
            self.progress.settle(acked, records_shipped=len(acked), retries=len(result.failed))
            pending = [r for r in pending if r.index not in acked]
            if result.failed:
                self.stop.wait(self.backoff.next_delay())
            else:
                self.backoff.reset()

    def _reject(self, path: Path, record: BufferedRecord) -> None:
        self.progress.settle([record.index], rejected_oversize=1)
        self.notices.emit(
            "ERROR",
            f"record {record.record_id or f'{path.name}:{record.index}'} rejected: "
            f"{record_size(record)} bytes, over the Kinesis limit of {MAX_RECORD_BYTES} bytes "
            "per record (data and partition key)",
            event="record_rejected",
            record_id=record.record_id,
        )

    def _stamped(self, records: list[BufferedRecord], path: Path) -> list[BufferedRecord]:
        if not self.identity:
            return records
        stamped: list[BufferedRecord] = []
        rewritten = 0
        for record in records:
            fixed = with_identity(record, self.identity)
            rewritten += fixed is not None
            stamped.append(fixed or record)
        if rewritten:
            self.progress.add(identity_rewritten=rewritten)
            self.notices.emit(
                "WARNING",
                f"{rewritten} record(s) in {path.name} named another organization, project, "
                "report or run; they were given this run's identity",
                event="identity_rewritten",
            )
        return stamped

    def _report_torn(self, path: Path, torn: list[int]) -> None:
        self.progress.add(skipped_torn=len(torn))
        self.notices.emit(
            "WARNING",
            f"skipped {len(torn)} incomplete line(s) in {path.name} "
            "(the crawler stopped while writing a record; it was never emitted)",
            event="torn_lines_skipped",
        )
