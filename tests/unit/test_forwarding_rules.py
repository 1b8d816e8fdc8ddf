"""The forwarder's pure rules, as tables: how records are cut into PutRecords calls, which
lines of a chunk are torn, how captured lines get their level, how acknowledged indexes are
remembered, and which exit.json means the records were not delivered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trawl.crawlers.buffer_reader import BufferedRecord, read_chunk
from trawl.crawlers.forwarder.progress import Progress
from trawl.crawlers.kinesis import MAX_BATCH_BYTES, fits, take_batch
from trawl.crawlers.runners.log_capture import structured
from trawl.crawlers.runners.subprocess_runner import outcome_from_exit

MIB = 1024 * 1024


def records(*sizes: int) -> list[BufferedRecord]:
    return [BufferedRecord(i, b"x" * size, "k", None) for i, size in enumerate(sizes)]


@pytest.mark.parametrize(
    ("sizes", "taken"),
    [
        ([10] * 501, 500),  # 500 records a call
        ([MIB - 1] * 6, 5),  # 5 MiB a call (with the partition keys)
        ([MIB - 1] * 2 + [3 * MIB], 2),  # stops before the record that would overflow
        ([10], 1),
        ([], 0),
    ],
)
def test_a_batch_is_at_most_500_records_and_5_mib(sizes: list[int], taken: int) -> None:
    batch = take_batch(records(*sizes))
    assert len(batch) == taken
    assert sum(len(r.data) + len(r.partition_key) for r in batch) <= MAX_BATCH_BYTES


@pytest.mark.parametrize(("size", "ok"), [(MIB - 1, True), (MIB, False), (2 * MIB, False)])
def test_a_record_fits_with_its_partition_key(size: int, ok: bool) -> None:
    assert fits(records(size)[0]) is ok


def test_torn_and_foreign_lines_are_skipped(tmp_path: Path) -> None:
    chunk = tmp_path / "chunk-00000001.jsonl"
    good = {"record_id": "a", "run_id": "r", "attempt": 1, "sequence": 1}
    chunk.write_bytes(json.dumps(good).encode() + b'\n[1, 2]\n{"record_id": "b", "pa')

    contents = read_chunk(chunk)

    assert [(r.index, r.record_id, r.partition_key) for r in contents.records] == [
        (0, "a", "r:1:1")
    ]
    assert contents.torn == [1, 2]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"level": "warning", "message": "slow"}', ("WARNING", "slow")),
        ('{"level": "WARN", "message": "slow"}', ("WARNING", "slow")),
        ('{"level": "CRITICAL", "message": "down"}', ("ERROR", "down")),
        ('{"level": "DEBUG", "message": 42}', ("DEBUG", "42")),
        ('{"level": "LOUD", "message": "x"}', None),
        ('{"message": "no level"}', None),
        ("[1, 2]", None),
        ("{not json", None),
        ("plain text", None),
    ],
)
def test_stdout_json_lines_keep_their_level(line: str, expected: tuple[str, str] | None) -> None:
    entry = structured(line)
    assert (None if entry is None else (entry.level, entry.message)) == expected


def test_acknowledged_indexes_survive_a_restart_as_ranges(tmp_path: Path) -> None:
    chunk = tmp_path / "chunk-00000001.jsonl"
    chunk.write_text("x\n" * 10)
    progress = Progress(tmp_path)
    assert progress.open_chunk(chunk) == (set(), False)
    progress.settle([0, 1, 2, 5, 6], records_shipped=5)

    again = Progress(tmp_path)

    assert again.open_chunk(chunk) == ({0, 1, 2, 5, 6}, True)
    assert again.snapshot()["chunk"]["settled"] == [[0, 3], [5, 7]]
    chunk.write_text("y\n" * 11)  # another chunk under the same name inherits nothing
    assert again.open_chunk(chunk) == (set(), False)


@pytest.mark.parametrize(
    ("info", "succeeded", "reason"),
    [
        ({"exit_code": 0, "forwarder": None}, True, ""),
        ({"exit_code": 0, "forwarder": {"records_drained": True}}, True, ""),
        (
            {
                "exit_code": 0,
                "forwarder": {"records_drained": False, "chunks_left": 2, "drain_limit_seconds": 5},
            },
            False,
            "records not delivered: the record forwarder could not ship 2 buffered chunk(s) "
            "to Kinesis within 5 s after the crawler ended",
        ),
        (
            {"exit_code": 3, "stderr_tail": ["boom"], "forwarder": {"records_drained": False}},
            False,
            "boom; records not delivered: the record forwarder could not ship ? buffered "
            "chunk(s) to Kinesis within ? s after the crawler ended",
        ),
    ],
)
def test_undelivered_records_fail_the_attempt(
    info: dict[str, Any], succeeded: bool, reason: str
) -> None:
    outcome = outcome_from_exit(info, {})
    assert (outcome.succeeded, outcome.reason) == (succeeded, reason)
