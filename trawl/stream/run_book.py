"""A run's ledger in the stream job: its counters, and its records waiting for their Avro part.

The job keeps one `RunBook` per run in Flink keyed state (keyed by run id), so it is
checkpointed together with the Kinesis read positions and the de-duplication state: after a
restore the book, the positions and the seen record ids all come back from the same
checkpoint, and replaying from there recomputes the same counters and the same parts.

Sequences are counted per attempt (crawlers number records from 1 in each attempt). A
sequence is *placed* once: a second delivery of the same (attempt, sequence) is a Kinesis
redelivery and counts as a duplicate. Part n of an attempt is ready when every sequence of
its range has been placed (accepted, rejected or a duplicate), or when the attempt's end
marker says how many records the forwarder shipped and that many have been placed; the
job then writes the part whole and drops its records from the book.

This module is plain Python (no Flink) so the bookkeeping is tested on its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trawl.stream.sinks.s3_avro import part_for, part_range

Envelope = dict[str, Any]


@dataclass(slots=True)
class AttemptBook:
    # Records the forwarder shipped for this attempt (from its end marker); None until then.
    expected: int | None = None
    placed: int = 0
    # part -> sequence -> the accepted envelope, or None for a rejected/duplicate record.
    pending: dict[int, dict[int, Envelope | None]] = field(default_factory=dict)
    # part -> how many sequences it held when written.
    written: dict[int, int] = field(default_factory=dict)
    complete: bool = False


@dataclass(frozen=True, slots=True)
class ReadyPart:
    attempt: int
    n: int
    envelopes: list[Envelope]


@dataclass(slots=True)
class RunBook:
    organization_id: str = ""
    project_id: str = ""
    report_id: str = ""
    run_id: str = ""
    # The Avro schema is fixed at the run's first accepted record so every part of the run
    # has the same one (a report edited mid-run does not split the files).
    avro_schema: dict[str, Any] | None = None
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    stored_bytes: int = 0
    attempts: dict[int, AttemptBook] = field(default_factory=dict)
    complete_attempt: int = 0
    # Counters changed since they were last reported.
    dirty: bool = False

    def identify(self, envelope: Mapping[str, Any]) -> None:
        """Learns the run's organization, project and report from a validated record."""
        if not self.organization_id:
            self.organization_id = str(envelope["organization_id"])
            self.project_id = str(envelope["project_id"])
            self.report_id = str(envelope["report_id"])
            self.run_id = str(envelope["run_id"])

    def attempt(self, number: int) -> AttemptBook:
        book = self.attempts.get(number)
        if book is None:
            book = self.attempts[number] = AttemptBook()
        return book

    def place(self, attempt: int, sequence: int, part_records: int) -> bool:
        """Claims (attempt, sequence); False when it was placed before (a redelivery)."""
        book = self.attempt(attempt)
        n = part_for(sequence, part_records)
        # A part is written once all its sequences were placed, or all the attempt shipped
        # was: whatever arrives for it afterwards was placed before.
        if n in book.written:
            return False
        slots = book.pending.setdefault(n, {})
        if sequence in slots:
            return False
        slots[sequence] = None
        book.placed += 1
        return True

    def keep(self, attempt: int, sequence: int, part_records: int, envelope: Envelope) -> None:
        """Holds an accepted record for its part (after `place`)."""
        book = self.attempt(attempt)
        book.pending[part_for(sequence, part_records)][sequence] = envelope

    def count(
        self, *, accepted: int = 0, rejected: int = 0, duplicates: int = 0, stored_bytes: int = 0
    ) -> None:
        self.accepted += accepted
        self.rejected += rejected
        self.duplicates += duplicates
        self.stored_bytes += stored_bytes
        self.dirty = True

    def end_attempt(self, attempt: int, shipped: int) -> None:
        """The forwarder's end marker: `shipped` distinct records went into the stream."""
        book = self.attempt(attempt)
        book.expected = shipped
        self.dirty = True

    def ready_parts(self, attempt: int, part_records: int) -> list[ReadyPart]:
        """Parts of `attempt` that can be written now; they leave the book."""
        book = self.attempts.get(attempt)
        if book is None:
            return []
        finished = book.expected is not None and book.placed >= book.expected
        ready: list[ReadyPart] = []
        for n in sorted(book.pending):
            slots = book.pending[n]
            if finished or len(slots) == len(part_range(n, part_records)):
                ready.append(ReadyPart(attempt, n, _kept(slots)))
                book.written[n] = book.written.get(n, 0) + len(slots)
                del book.pending[n]
        if finished and not book.complete:
            book.complete = True
            self.complete_attempt = max(self.complete_attempt, attempt)
            self.dirty = True
        return ready


def _kept(slots: Mapping[int, Envelope | None]) -> list[Envelope]:
    return [slots[s] for s in sorted(slots) if slots[s] is not None]  # type: ignore[misc]
