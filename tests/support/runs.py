"""Helpers for tests that watch runs through GraphQL: poll a run until it reaches a state."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from tests.support.graphql import GraphQLClient, Person

RUN_FIELDS = """id state attempt maxAttempts failureReason timeoutSeconds
  queuedAt startedAt runningAt finishedAt cancelRequestedAt
  trigger { kind scheduleId user { id } } rerunOf { id }
  stats { pages records errors bytes }
  attempts { attempt state failureReason exitCode startedAt finishedAt }"""

FINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"}


def raw_id(global_id: str) -> str:
    return base64.urlsafe_b64decode(global_id).decode().split(":", 1)[1]


async def get_run(gql: GraphQLClient, person: Person, run_id: str) -> dict[str, Any]:
    result = await gql.execute(
        f"query($id: ID!) {{ run(id: $id) {{ {RUN_FIELDS} }} }}", {"id": run_id}, token=person.token
    )
    run: dict[str, Any] = result.data["run"]
    return run


async def wait_for_run(
    gql: GraphQLClient,
    person: Person,
    run_id: str,
    states: set[str] | None = None,
    within_seconds: float = 90.0,
) -> dict[str, Any]:
    """Polls until the run is in one of `states` (default: any final state)."""
    wanted = states or FINAL
    deadline = time.monotonic() + within_seconds
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = await get_run(gql, person, run_id)
        if run["state"] in wanted:
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not reach {sorted(wanted)} in {within_seconds}s: {run}")
