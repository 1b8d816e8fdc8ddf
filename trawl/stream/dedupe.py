"""De-duplication decisions for the stream job, without Flink.

The job keys the stream by `dedupe_key(run_id, record_id)` and keeps one ValueState per key:
empty means the record was never seen, `SEEN` means it was. A record is forwarded to the
sinks only on its first sighting; a repeat (the buffer re-sending a chunk after a crash, or a
Kinesis retry) is dropped and counted as a duplicate in the run's stats.

Flink's state TTL counts from the last write of a key, not from the end of its run. A key is
written once, when its record is first seen, which is at most the run's longest possible
duration before the run ends; so the TTL is that duration plus the hours to keep after the
end (`state_ttl_seconds`)."""

from __future__ import annotations

import math
from enum import Enum

SEEN = True  # the value stored in the ValueState once a key's record went through


class Verdict(Enum):
    FIRST = "first"  # forward to the sinks and store SEEN
    DUPLICATE = "duplicate"  # drop; count in the run's stats


def dedupe_key(run_id: str, record_id: str) -> str:
    """One string per (run, record); length-prefixed so no two pairs share a key."""
    return f"{len(run_id)}:{run_id}:{record_id}"


def verdict(state_value: object | None) -> Verdict:
    """What to do with a record given its key's current state value (None: never set)."""
    return Verdict.DUPLICATE if state_value else Verdict.FIRST


def state_ttl_seconds(hours_after_run_end: float, max_run_seconds: float) -> int:
    """The Flink StateTtlConfig duration (seconds, rounded up) that keeps a key at least
    `hours_after_run_end` hours past the end of a run lasting at most `max_run_seconds`."""
    if hours_after_run_end < 0 or max_run_seconds < 0:
        raise ValueError("durations must not be negative")
    total = hours_after_run_end * 3600 + max_run_seconds
    return max(1, math.ceil(total))
