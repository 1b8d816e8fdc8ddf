"""How the forwarder waits: exponential backoff with jitter between retries, and notices to
the run's log about what a user should know (rejected records, outages) as JSON lines on
stdout, which the supervisor captures like the crawler's own log lines."""

from __future__ import annotations

import json
import random
import sys
import threading
from typing import Any, TextIO


class Backoff:
    """Doubles from `base` up to `cap`; the wait is drawn from [d/2, d] so forwarders that
    were throttled together do not retry in lockstep."""

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap
        self._failures = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * 2.0**self._failures)
        self._failures = min(self._failures + 1, 32)
        return delay / 2 + random.uniform(0, delay / 2)

    def reset(self) -> None:
        self._failures = 0


class Notices:
    """Thread-safe JSON lines in the SDK's log format (`level`, `message`, extra fields)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._lock = threading.Lock()

    def emit(self, level: str, message: str, **fields: Any) -> None:
        line = json.dumps({"level": level, "message": message, **fields}, default=str)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()


class Outage:
    """Tells the run's log once when a service stops answering and once when it is back,
    not on every retry in between."""

    def __init__(self, service: str, notices: Notices) -> None:
        self.service = service
        self._notices = notices
        self._since: float | None = None

    def failed(self, now: float, error: BaseException) -> None:
        if self._since is not None:
            return
        self._since = now
        self._notices.emit(
            "WARNING",
            f"{self.service} calls are failing ({type(error).__name__}: {error}); "
            "retrying, nothing is lost",
            event=f"{self.service.lower()}_unavailable",
        )

    def recovered(self, now: float) -> None:
        if self._since is None:
            return
        seconds = now - self._since
        self._since = None
        self._notices.emit(
            "INFO",
            f"{self.service} calls succeed again after {seconds:.1f} s",
            event=f"{self.service.lower()}_recovered",
        )
