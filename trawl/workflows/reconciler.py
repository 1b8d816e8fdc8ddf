"""The reconciler: what the event path would leave waiting if an event were lost for good
(dead-lettered after a long outage, or dropped by a bug) is picked up again.

Every sweep asks the runs service for stale runs and, through the same handler code the
events use, gets the run moving again: while its workflow runs, a CANCELLING run's cancel
is signalled again; when the workflow has closed or never existed (an event lost, an
operator's terminate, a workflow that failed after its retries), a new execution is started
under the run's workflow id. Every worker sweeps; two sweeps
at once are harmless for the same reason."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from trawl.config import Settings
from trawl.grpc_services.clients import RunsClient
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.tenants.system_token import SystemTokenProvider
from trawl.workflows.handler import EventHandler

log = logging.getLogger("trawl.reconciler")
SWEEP_LIMIT = 200


class RunReconciler:
    def __init__(
        self,
        settings: Settings,
        runs: RunsClient,
        tokens: SystemTokenProvider,
        handler: EventHandler,
    ) -> None:
        self.settings = settings
        self.runs = runs
        self.tokens = tokens
        self.handler = handler

    async def sweep(self) -> int:
        """One pass; returns how many runs it acted on."""
        reply = await self.runs.call(
            self.runs.stub.ListStaleRuns,
            pb.ListStaleRunsRequest(
                older_than_seconds=self.settings.reconcile_after_seconds, limit=SWEEP_LIMIT
            ),
            token=await self.tokens.token(),
        )
        for run in reply.runs:
            state = pb.RunState.Name(run.state)
            try:
                await self.handler.resume_run(
                    run.id, run.organization_id, cancel=run.state != pb.RUN_STATE_QUEUED
                )
            except Exception as error:  # one run's failure must not hold up the others
                log.warning("reconciler=failed run=%s state=%s error=%s", run.id, state, error)
                continue
            log.info("reconciler=acted run=%s state=%s", run.id, state)
        return len(reply.runs)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception as error:  # a failed sweep (service or Temporal down) waits
                log.warning("reconciler=sweep_failed error=%s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    stop.wait(), timeout=self.settings.reconcile_interval_seconds
                )
