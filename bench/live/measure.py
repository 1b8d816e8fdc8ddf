"""From the publishers' send times and what each subscriber received to latencies and
delivery ratios; CPU seconds of processes from /proc."""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

from bench.live.publishers import Sent
from bench.live.subscriber_processes import Received

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float], q: float) -> float:
    """Nearest rank on a sorted list; NaN when empty."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (its threads included, its children not)."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14, 15


def cpu_snapshot(pids: Iterable[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids}


@dataclass(frozen=True)
class Delivery:
    latencies_ms: list[float]  # per (subscriber, measured value it received), sorted
    ratios: list[float]  # per subscriber: measured values received / published

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    @property
    def complete(self) -> int:
        """Subscribers that received every measured value."""
        return sum(1 for r in self.ratios if r >= 1.0)


def delivery(received: list[Received], sent: dict[str, Sent], first: int) -> Delivery:
    """Latency from the start of each publish of a value >= `first` to its first receipt by
    each subscriber of that run, and what share of those values each subscriber received."""
    latencies: list[float] = []
    ratios: list[float] = []
    for subscriber in received:
        at = sent[subscriber.key].at
        measured = sum(1 for value in at if value >= first)
        got: set[int] = set()
        for value, received_at in subscriber.seen:
            if value < first or value in got or value not in at:
                continue
            got.add(value)
            latencies.append((received_at - at[value]) * 1000)
        ratios.append(len(got) / measured if measured else math.nan)
    latencies.sort()
    return Delivery(latencies, ratios)


def call_ms(sent: dict[str, Sent]) -> list[float]:
    return sorted(s * 1000 for one in sent.values() for s in one.call_seconds)


def _first_receipts(tap: list[Received]) -> dict[tuple[str, int], float]:
    first: dict[tuple[str, int], float] = {}
    for subscriber in tap:
        for value, at in subscriber.seen:
            first.setdefault((subscriber.key, value), at)
    return first


def past_redis(received: list[Received], tap: list[Received], first: int) -> Delivery:
    """Per (subscriber, value >= first): its receipt less the tap's receipt of the same value
    of the same run, i.e. Redis -> gateway -> client, the publisher's part left out."""
    tapped = _first_receipts(tap)
    latencies: list[float] = []
    for subscriber in received:
        got: set[int] = set()
        for value, at in subscriber.seen:
            tap_at = tapped.get((subscriber.key, value))
            if value < first or value in got or tap_at is None:
                continue
            got.add(value)
            latencies.append((at - tap_at) * 1000)
    latencies.sort()
    return Delivery(latencies, [])


def bunched(tap: list[Received], first: int, within_ms: float) -> float:
    """The share of a run's consecutive values that reached the tap within `within_ms` of
    the one before: what a gateway's latest-value conflation may merge."""
    close = pairs = 0
    for subscriber in tap:
        times = [at for value, at in subscriber.seen if value >= first]
        for before, after in itertools.pairwise(times):
            pairs += 1
            close += (after - before) * 1000 < within_ms
    return close / pairs if pairs else math.nan
