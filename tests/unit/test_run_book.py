"""A run's ledger in the stream job: placing (attempt, sequence) once, when an Avro part is
ready (its whole range placed, or the attempt's end marker reached), counters, and a book
that survives the pickling Flink state gives it and stays small. The accepted records wait
outside the book (the job's MapState); here a dict plays that part."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from trawl.stream.run_book import RunBook, held_key

K = 5  # records per Avro part: part 0 holds sequences 1..5, part 1 holds 6..10, ...

# The job's `held_records` MapState: held_key(attempt, sequence) -> the envelope as JSON.
HELD: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _held() -> Iterator[None]:
    HELD.clear()
    yield
    HELD.clear()


def _envelope(attempt: int, sequence: int) -> dict[str, Any]:
    return {
        "record_id": f"r{attempt}-{sequence}",
        "organization_id": "org",
        "project_id": "project",
        "report_id": "report",
        "run_id": "run",
        "attempt": attempt,
        "sequence": sequence,
        "payload": {"n": sequence},
    }


def _accept(book: RunBook, attempt: int, sequence: int) -> bool:
    """What the job does with a valid new record: place it, hold it, count it."""
    if not book.place(attempt, sequence, K):
        return False
    HELD[held_key(attempt, sequence)] = json.dumps(_envelope(attempt, sequence))
    book.count(accepted=1)
    return True


def _sequences(book: RunBook, attempt: int) -> list[tuple[int, list[int]]]:
    """The ready parts of `attempt`: (part number, sequences of its envelopes), as the job
    writes them: the held records of the part's sequences, which then leave HELD."""
    written: list[tuple[int, list[int]]] = []
    for part in book.ready_parts(attempt, K):
        assert part.attempt == attempt
        assert part.sequences == sorted(part.sequences)
        envelopes = [
            json.loads(HELD.pop(held_key(attempt, s)))
            for s in part.sequences
            if held_key(attempt, s) in HELD
        ]
        written.append((part.n, [int(e["sequence"]) for e in envelopes]))
    return written


# -- placing -----------------------------------------------------------------------------------


def test_a_sequence_is_placed_once_per_attempt() -> None:
    book = RunBook()
    assert book.place(1, 3, K) is True
    assert book.place(1, 3, K) is False  # a redelivery
    assert book.attempt(1).placed == 1


def test_attempts_number_their_sequences_independently() -> None:
    book = RunBook()
    assert book.place(1, 1, K) is True
    assert book.place(2, 1, K) is True  # attempt 2's first record is not attempt 1's
    assert book.place(2, 1, K) is False
    assert (book.attempt(1).placed, book.attempt(2).placed) == (1, 1)


def test_a_sequence_of_an_already_written_part_is_refused() -> None:
    book = RunBook()
    for sequence in range(1, K + 1):
        _accept(book, 1, sequence)
    assert _sequences(book, 1) == [(0, [1, 2, 3, 4, 5])]
    # The part is written and its records dropped from the book: whatever comes for its
    # range again was placed before.
    assert book.place(1, 1, K) is False
    assert book.place(1, K, K) is False
    assert book.attempt(1).placed == K
    assert book.place(1, K + 1, K) is True  # the next part is open


def test_a_part_written_at_the_end_of_its_attempt_refuses_later_sequences_of_its_range() -> None:
    book = RunBook()
    _accept(book, 1, 1)
    _accept(book, 1, 2)
    book.end_attempt(1, shipped=2)
    assert _sequences(book, 1) == [(0, [1, 2])]
    assert book.place(1, 3, K) is False  # part 0 is written, short as it was


@pytest.mark.parametrize("sequence", [0, -1])
def test_sequences_start_at_one(sequence: int) -> None:
    with pytest.raises(ValueError):
        RunBook().place(1, sequence, K)


# -- parts ready when their range is placed ---------------------------------------------------


def test_a_part_is_ready_only_once_every_sequence_of_its_range_is_placed() -> None:
    book = RunBook()
    for sequence in (5, 1, 4, 2):
        _accept(book, 1, sequence)
        assert book.ready_parts(1, K) == []
    _accept(book, 1, 3)
    ready = book.ready_parts(1, K)
    assert [(p.attempt, p.n) for p in ready] == [(1, 0)]
    assert book.ready_parts(1, K) == []  # handed out once: it left the book
    assert book.attempt(1).pending == {}
    assert book.attempt(1).written == {0: K}


def test_ranges_are_one_based() -> None:
    book = RunBook()
    for sequence in range(2, K + 2):  # 2..6: part 0 lacks 1, part 1 holds 6 only
        _accept(book, 1, sequence)
    assert book.ready_parts(1, K) == []
    assert sorted(book.attempt(1).pending) == [0, 1]
    assert sorted(book.attempt(1).pending[1]) == [K + 1]
    _accept(book, 1, 1)
    assert _sequences(book, 1) == [(0, [1, 2, 3, 4, 5])]


def test_ready_parts_list_their_envelopes_in_sequence_order() -> None:
    book = RunBook()
    for sequence in (9, 3, 7, 1, 10, 5, 2, 8, 4, 6):
        _accept(book, 1, sequence)
    assert _sequences(book, 1) == [(0, [1, 2, 3, 4, 5]), (1, [6, 7, 8, 9, 10])]


def test_rejected_and_duplicate_slots_complete_a_part_but_are_not_in_it() -> None:
    book = RunBook()
    _accept(book, 1, 1)
    assert book.place(1, 2, K)  # rejected: placed, never kept
    book.count(rejected=1)
    _accept(book, 1, 3)
    assert book.place(1, 4, K)  # a repeated record id: placed, never kept
    book.count(duplicates=1)
    assert book.ready_parts(1, K) == []
    _accept(book, 1, 5)
    assert sorted(HELD) == ["1:1", "1:3", "1:5"]  # only the accepted ones are held
    assert _sequences(book, 1) == [(0, [1, 3, 5])]
    assert HELD == {}  # written: dropped


def test_a_ready_part_lists_every_placed_sequence_in_order() -> None:
    book = RunBook()
    for sequence in (4, 2, 5, 1, 3):
        assert book.place(1, sequence, K)
    assert [(p.attempt, p.n, p.sequences) for p in book.ready_parts(1, K)] == [
        (1, 0, [1, 2, 3, 4, 5])
    ]


def test_a_part_with_nothing_kept_is_still_ready_and_empty() -> None:
    book = RunBook()
    for sequence in range(1, K + 1):
        assert book.place(1, sequence, K)
    assert _sequences(book, 1) == [(0, [])]


def test_an_unknown_attempt_has_no_ready_parts() -> None:
    assert RunBook().ready_parts(7, K) == []


# -- the end marker ---------------------------------------------------------------------------


def test_the_end_marker_after_the_last_record_makes_the_short_parts_ready() -> None:
    book = RunBook()
    for sequence in range(1, 13):  # parts 0 and 1 full, part 2 holds 11..12
        _accept(book, 1, sequence)
    assert [n for n, _ in _sequences(book, 1)] == [0, 1]
    assert book.complete_attempt == 0
    book.dirty = False
    book.end_attempt(1, shipped=12)
    assert book.dirty is True
    assert book.attempt(1).expected == 12
    assert _sequences(book, 1) == [(2, [11, 12])]
    assert book.complete_attempt == 1
    assert book.attempt(1).complete is True
    assert book.attempt(1).pending == {}


def test_the_end_marker_before_the_last_records_waits_for_them() -> None:
    book = RunBook()
    for sequence in (1, 2, 3, 4, 5, 6, 8):  # 7 and 9 are still on their way
        _accept(book, 1, sequence)
    assert [n for n, _ in _sequences(book, 1)] == [0]
    book.end_attempt(1, shipped=9)
    assert book.ready_parts(1, K) == []
    assert book.complete_attempt == 0
    _accept(book, 1, 9)
    assert book.ready_parts(1, K) == []  # 8 of 9 placed
    _accept(book, 1, 7)
    assert _sequences(book, 1) == [(1, [6, 7, 8, 9])]
    assert book.complete_attempt == 1


def test_the_end_marker_counts_rejected_and_duplicate_slots_as_placed() -> None:
    book = RunBook()
    _accept(book, 1, 1)
    assert book.place(1, 2, K)  # rejected
    assert book.place(1, 3, K)  # a repeated record id
    book.end_attempt(1, shipped=3)
    assert _sequences(book, 1) == [(0, [1])]
    assert book.complete_attempt == 1


def test_a_redelivery_does_not_count_towards_the_end_marker() -> None:
    book = RunBook()
    _accept(book, 1, 1)
    assert not _accept(book, 1, 1)
    book.end_attempt(1, shipped=2)
    assert book.ready_parts(1, K) == []
    _accept(book, 1, 2)
    assert _sequences(book, 1) == [(0, [1, 2])]


def test_an_attempt_that_shipped_nothing_is_complete_at_its_marker() -> None:
    book = RunBook()
    book.end_attempt(1, shipped=0)
    assert book.ready_parts(1, K) == []
    assert book.complete_attempt == 1


def test_the_end_marker_of_one_attempt_leaves_the_other_pending() -> None:
    book = RunBook()
    _accept(book, 1, 1)
    _accept(book, 2, 1)
    _accept(book, 2, 2)
    book.end_attempt(2, shipped=2)
    assert _sequences(book, 2) == [(0, [1, 2])]
    assert book.ready_parts(1, K) == []
    assert sorted(book.attempt(1).pending[0]) == [1]
    assert book.complete_attempt == 2


def test_the_complete_attempt_only_grows() -> None:
    book = RunBook()
    book.end_attempt(2, shipped=0)
    book.ready_parts(2, K)
    assert book.complete_attempt == 2
    book.end_attempt(1, shipped=0)  # a late marker of an earlier attempt
    book.ready_parts(1, K)
    assert book.complete_attempt == 2
    book.end_attempt(3, shipped=0)
    book.ready_parts(3, K)
    assert book.complete_attempt == 3


def test_completing_an_attempt_marks_the_book_dirty_once() -> None:
    book = RunBook()
    _accept(book, 1, 1)
    book.end_attempt(1, shipped=1)
    book.dirty = False  # reported
    assert _sequences(book, 1) == [(0, [1])]
    assert book.dirty is True  # the complete attempt is news
    book.dirty = False
    assert book.ready_parts(1, K) == []
    assert book.dirty is False


# -- counters and identity --------------------------------------------------------------------


def test_counters_add_up_and_mark_the_book_dirty() -> None:
    book = RunBook()
    assert book.dirty is False
    book.count(accepted=2, stored_bytes=100)
    book.count(rejected=1)
    book.count(duplicates=3, stored_bytes=5)
    assert (book.accepted, book.rejected, book.duplicates, book.stored_bytes) == (2, 1, 3, 105)
    assert book.dirty is True


def test_the_run_is_identified_by_its_first_record() -> None:
    book = RunBook()
    book.identify(_envelope(1, 1))
    book.identify(_envelope(1, 2) | {"organization_id": "other"})
    assert (book.organization_id, book.project_id, book.report_id, book.run_id) == (
        "org",
        "project",
        "report",
        "run",
    )


# -- Flink state --------------------------------------------------------------------------------


def test_a_book_survives_a_pickling_round_trip() -> None:
    book = RunBook()
    book.identify(_envelope(1, 1))
    book.avro_schema = {"type": "record", "name": "r", "fields": []}
    for sequence in (1, 2, 3, 4, 5, 7):
        _accept(book, 1, sequence)
    book.ready_parts(1, K)
    _accept(book, 2, 1)
    book.end_attempt(2, shipped=3)

    restored: RunBook = pickle.loads(pickle.dumps(book))

    assert restored == book
    assert restored.attempt(1).written == {0: K}
    assert restored.place(1, 7, K) is False
    assert restored.place(1, 3, K) is False
    _accept(restored, 1, 6)
    for sequence in (8, 9, 10):
        _accept(restored, 1, sequence)
    assert _sequences(restored, 1) == [(1, [6, 7, 8, 9, 10])]
    _accept(restored, 2, 2)
    _accept(restored, 2, 3)
    assert _sequences(restored, 2) == [(0, [1, 2, 3])]
    assert restored.complete_attempt == 2
    # The original is untouched by what happened to the copy.
    assert sorted(book.attempt(1).pending[1]) == [7]


def test_a_book_with_a_full_pending_part_of_ten_thousand_stays_small() -> None:
    part_records = 10_000
    book = RunBook()
    book.identify(_envelope(1, 1))
    for sequence in range(2, part_records + 1):  # part 0 lacks only sequence 1
        assert book.place(1, sequence, part_records)
    for sequence in range(part_records + 1, 2 * part_records):  # part 1 lacks its last
        assert book.place(1, sequence, part_records)
    assert book.ready_parts(1, part_records) == []
    assert len(pickle.dumps(book)) < 5_000
    assert book.place(1, 1, part_records)
    [ready] = book.ready_parts(1, part_records)
    assert ready.sequences == list(range(1, part_records + 1))
    assert len(pickle.dumps(book)) < 5_000
