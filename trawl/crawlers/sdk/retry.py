"""When to retry a request and how long to wait first.

Full jitter (a uniform draw between zero and the exponential ceiling) spreads the retries of
many concurrent requests instead of sending them back in lock-step; a server's own
`Retry-After` wins over our guess, capped so a hostile value cannot park the crawl."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def is_retryable_status(status: int) -> bool:
    """429 and the 5xx family: the server may answer differently in a moment."""
    return status == 429 or 500 <= status <= 599


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Delay before retry number `attempt + 1` (attempt counts from 0)."""
    return rng.uniform(0, min(cap, base * (2**attempt)))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP date); None if absent/bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
