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
job then writes the part whole.

The book holds bookkeeping only: per pending part a bitmap of its placed sequences (K bits)
and their count. The accepted records themselves wait in keyed MapState under
`held_key(attempt, sequence)`, beside the book: PyFlink re-pickles and ships a ValueState
whole at every bundle, so a book holding up to K envelopes per part made the job crawl,
while MapState ships only the entries that changed. Both are keyed state of the same
checkpoint.

This module is plain Python (no Flink) so the bookkeeping is tested on its own."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from trawl.stream.sinks.s3_avro import part_for, part_range

Envelope = dict[str, Any]


def held_key(attempt: int, sequence: int) -> str:
    """The MapState key an accepted record waits under until its part is written."""
    return f"{attempt}:{sequence}"


@dataclass(slots=True)
class PendingPart:
    """The placed sequences of a part not written yet: bit i of `bits` is sequence first + i."""

    first: int
    bits: bytearray
    count: int = 0

    @classmethod
    def of(cls, n: int, part_records: int) -> PendingPart:
        return cls(n * part_records + 1, bytearray((part_records + 7) // 8))

    def add(self, sequence: int) -> bool:
        """Marks `sequence` placed; False when it already was."""
        i = sequence - self.first
        byte, bit = i >> 3, 1 << (i & 7)
        if self.bits[byte] & bit:
            return False
        self.bits[byte] |= bit
        self.count += 1
        return True

    def __contains__(self, sequence: object) -> bool:
        if not isinstance(sequence, int):
            return False
        i = sequence - self.first
        return 0 <= i < len(self.bits) * 8 and bool(self.bits[i >> 3] & (1 << (i & 7)))

    def __iter__(self) -> Iterator[int]:
        """The placed sequences, ascending."""
        first = self.first
        for byte_index, byte in enumerate(self.bits):
            if byte:
                base = first + byte_index * 8
                for bit in range(8):
                    if byte & (1 << bit):
                        yield base + bit

    def __len__(self) -> int:
        return self.count


@dataclass(slots=True)
class AttemptBook:
    # Records the forwarder shipped for this attempt (from its end marker); None until then.
    expected: int | None = None
    placed: int = 0
    # part -> its placed sequences (accepted, rejected or duplicate).
    pending: dict[int, PendingPart] = field(default_factory=dict)
    # part -> how many sequences it held when written.
    written: dict[int, int] = field(default_factory=dict)
    complete: bool = False


@dataclass(frozen=True, slots=True)
class ReadyPart:
    attempt: int
    n: int
    # The placed sequences of the part, ascending; the accepted ones have a record held
    # under held_key(attempt, sequence), the rejected and duplicate ones none.
    sequences: list[int]


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
        slots = book.pending.get(n)
        if slots is None:
            slots = book.pending[n] = PendingPart.of(n, part_records)
        if not slots.add(sequence):
            return False
        book.placed += 1
        return True

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
        """Parts of `attempt` that can be written now; they leave the book (their held records
        are the caller's to write and drop)."""
        book = self.attempts.get(attempt)
        if book is None:
            return []
        finished = book.expected is not None and book.placed >= book.expected
        ready: list[ReadyPart] = []
        for n in sorted(book.pending):
            slots = book.pending[n]
            if finished or slots.count == len(part_range(n, part_records)):
                ready.append(ReadyPart(attempt, n, list(slots)))
                book.written[n] = book.written.get(n, 0) + slots.count
                del book.pending[n]
        if finished and not book.complete:
            book.complete = True
            self.complete_attempt = max(self.complete_attempt, attempt)
            self.dirty = True
        return ready
