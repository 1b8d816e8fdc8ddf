"""Waiting on a locally run attempt's outcome (the runner tests and the supervisor tests)."""

from __future__ import annotations

import asyncio
import time

from trawl.crawlers.runners.base import CrawlerOutcome, CrawlerSpec
from trawl.crawlers.runners.subprocess_runner import SubprocessRunner

OUTCOME_TIMEOUT = 30.0


async def wait_outcome(
    runner: SubprocessRunner, spec: CrawlerSpec, within_seconds: float = OUTCOME_TIMEOUT
) -> CrawlerOutcome:
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        outcome = await runner.outcome(spec)
        if outcome is not None:
            return outcome
        await asyncio.sleep(0.05)
    raise AssertionError(f"no outcome for {spec.run_id} within {within_seconds} s")
