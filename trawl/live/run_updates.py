"""What the reports service publishes when it stores a run's state or stats, and how a
gateway reads it back: the whole `Run` message, so a subscription shows every field the
`run` query does without calling the service again.

Published after the change is committed (a subscriber never sees a state the database does
not hold), on the run's channel and on its project's. Publishing is best effort: a broker
that is down is logged and the domain write stands; subscribers catch up through the
resync every broker sends when its upstream comes back."""

from __future__ import annotations

import base64
import logging
from typing import Any

from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.live.broker import Broadcaster
from trawl.live.channels import project_runs_channel, run_channel

log = logging.getLogger(__name__)


def encode_run(run: pb.Run) -> dict[str, Any]:
    return {
        "kind": "run",
        "run_id": run.id,
        "run": base64.b64encode(run.SerializeToString()).decode(),
    }


def decode_run(message: dict[str, Any]) -> pb.Run | None:
    """The Run in a published message; None when the message is something else."""
    if message.get("kind") != "run" or not isinstance(message.get("run"), str):
        return None
    run = pb.Run()
    run.ParseFromString(base64.b64decode(message["run"]))
    return run


class RunUpdatePublisher:
    def __init__(self, broadcaster: Broadcaster | None) -> None:
        self.broadcaster = broadcaster

    async def publish(self, run: pb.Run) -> None:
        if self.broadcaster is None:
            return
        message = encode_run(run)
        for channel in (run_channel(run.id), project_runs_channel(run.project_id)):
            try:
                await self.broadcaster.publish(channel, message)
            except Exception as exc:  # never fail a committed change over a live update
                log.warning("live update not published channel=%s error=%s", channel, exc)
