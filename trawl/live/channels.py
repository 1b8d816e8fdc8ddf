"""Names of the pub/sub channels that carry live run updates.

Producers and gateways must agree on these names byte for byte (a gateway subscribed to a
channel nobody publishes on just waits forever), so they are built here and nowhere else.
Messages on every channel are `dict[str, Any]` that survive `json.dumps`: the Redis
broadcaster sends them as JSON and the in-process one round-trips them the same way."""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]

_PREFIX = "trawl"


def run_channel(run_id: str) -> str:
    """State changes and stats of one run."""
    return f"{_PREFIX}:run:{run_id}"


def project_runs_channel(project_id: str) -> str:
    """Runs of one project that were created or changed state (run lists, dashboards)."""
    return f"{_PREFIX}:project-runs:{project_id}"


def run_logs_channel(run_id: str) -> str:
    """Hints that new log lines of one run were stored (the lines themselves carry a sequence
    so a client can resume from the last one it saw)."""
    return f"{_PREFIX}:run-logs:{run_id}"
