"""De-duplication decisions for the stream job, without Flink.

The job keys the stream by run and keeps, per run, one MapState (`seen_record_ids`) from
record id to `SEEN`: no entry means the record was never seen. A record is forwarded to the
sinks only on its first sighting; a repeat (the buffer re-sending a chunk after a crash, or a
Kinesis retry) is dropped and counted as a duplicate in the run's stats. `dedupe_key` is the
one-string form of a (run, record) pair, for a store keyed by record rather than by run.

The job keeps a record id `stream_dedupe_ttl_hours` after its first sighting (Flink's TTL
counts from the write): the repeats it exists for, forwarder and Kinesis retries, come
minutes apart. `state_ttl_seconds` is the TTL that would instead cover a whole run of a given
longest duration plus those hours; it is not used, because the longest possible run (ten
attempts of a week) would keep every record id for about three months."""

from __future__ import annotations

import math
from enum import Enum

SEEN = True  # the value stored for a record id once its record went through


class Verdict(Enum):
    FIRST = "first"  # forward to the sinks and store SEEN
    DUPLICATE = "duplicate"  # drop; count in the run's stats


def dedupe_key(run_id: str, record_id: str) -> str:
    """One string per (run, record); length-prefixed so no two pairs share a key."""
    return f"{len(run_id)}:{run_id}:{record_id}"


def verdict(state_value: object | None) -> Verdict:
    """What to do with a record given its id's current state value (None: never set)."""
    return Verdict.DUPLICATE if state_value else Verdict.FIRST


def state_ttl_seconds(hours_after_run_end: float, max_run_seconds: float) -> int:
    """The Flink StateTtlConfig duration (seconds, rounded up) that keeps a key at least
    `hours_after_run_end` hours past the end of a run lasting at most `max_run_seconds`."""
    if hours_after_run_end < 0 or max_run_seconds < 0:
        raise ValueError("durations must not be negative")
    total = hours_after_run_end * 3600 + max_run_seconds
    return max(1, math.ceil(total))
