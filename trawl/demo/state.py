"""The fixture site's memory: what it was asked (for assertions) and its one-shot 429s.

Requests are recorded by target ("/catalog?page=3"), so a test can check that a disallowed
section was never fetched or that a throttled page was asked twice. The site runs in
another thread than the test reading this; single attribute updates under the GIL are
enough for counters read after the crawl."""

from __future__ import annotations

import time
from collections import Counter


class FixtureState:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forgets every request and re-arms the one-shot 429s."""
        self.requests: Counter[str] = Counter()
        self.throttled: set[str] = set()
        self.flaky: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.arrivals: list[float] = []

    def record(self, target: str) -> None:
        self.requests[target] += 1

    def requested(self, prefix: str) -> int:
        """How many requests targeted a path (and query) starting with `prefix`."""
        return sum(n for target, n in self.requests.items() if target.startswith(prefix))

    def throttle_once(self, key: str) -> bool:
        """True the first time `key` is asked about since the last reset."""
        if key in self.throttled:
            return False
        self.throttled.add(key)
        return True

    def enter(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.arrivals.append(time.monotonic())

    def leave(self) -> None:
        self.in_flight -= 1

    def summary(self) -> dict[str, object]:
        return {
            "requests": dict(self.requests),
            "max_in_flight": self.max_in_flight,
            "throttled": sorted(self.throttled),
        }
