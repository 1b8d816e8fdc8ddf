"""The event handler: what EventBridge's rule invokes (as a Lambda in production, through
the SQS poller here). It writes every event to the audit log and starts or signals the
Temporal workflows the event calls for.

Workflow ids are derived from the event (the run id, or the event id), and started with a
reject-duplicate policy, so a redelivered event never starts a second workflow."""

from __future__ import annotations

import logging
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from trawl.config import Settings
from trawl.domain import events
from trawl.events.audit import AuditLog
from trawl.events.envelope import DomainEvent
from trawl.workflows.inputs import (
    CANCEL_SIGNAL,
    DELIVER_DATASET_WORKFLOW,
    DELIVER_TO_DESTINATION_WORKFLOW,
    RUN_WORKFLOW,
    SYNC_SCHEDULE_WORKFLOW,
    DeliverDatasetInput,
    DeliverToDestinationInput,
    DeliveryRetry,
    RunInput,
    SyncScheduleInput,
    deliver_destination_workflow_id,
    deliver_workflow_id,
    run_workflow_id,
)

log = logging.getLogger("trawl.handler")


class EventHandler:
    def __init__(self, temporal: Client, settings: Settings, audit: AuditLog | None) -> None:
        self.temporal = temporal
        self.settings = settings
        self.audit = audit

    async def handle(self, event: DomainEvent) -> None:
        # Workflows first: an audit store outage must not hold up runs. A failure of either
        # makes the queue redeliver the event, and both steps are idempotent.
        await self._dispatch(event)
        if self.audit is not None:
            await self.audit.record(event)

    async def _dispatch(self, event: DomainEvent) -> None:
        data = event.data
        org = event.organization_id or ""
        if event.type == events.RUN_REQUESTED:
            await self.start_run(data["runId"], org)
        elif event.type == events.RUN_CANCEL_REQUESTED:
            await self.cancel_run(data["runId"])
        elif event.type == events.RUN_DATASET_READY and data.get("state") == "SUCCEEDED":
            await self._start(
                DELIVER_DATASET_WORKFLOW,
                DeliverDatasetInput(data["runId"], org, self._delivery_retry()),
                deliver_workflow_id(data["runId"]),
            )
        elif event.type == events.REDELIVERY_REQUESTED:
            await self._redeliver(data, event.event_id)
        if event.type in events.SCHEDULE_AFFECTING:
            await self._sync_schedule(data["reportId"], org, event.event_id)
        if event.type in (events.REPORT_DELETED, events.PROJECT_DELETED):
            for run_id in data.get("activeRunIds", []):
                await self.cancel_run(run_id)
        if event.type == events.PROJECT_DELETED:
            for report_id in data.get("reportIds", []):
                await self._sync_schedule(report_id, org, event.event_id)

    async def start_run(self, run_id: str, organization_id: str) -> None:
        await self._start(RUN_WORKFLOW, RunInput(run_id, organization_id), run_workflow_id(run_id))

    def _delivery_retry(self) -> DeliveryRetry:
        return DeliveryRetry(
            self.settings.delivery_retry_initial_seconds, self.settings.delivery_max_attempts
        )

    async def _redeliver(self, data: dict[str, Any], event_id: str) -> None:
        run_id, destination_id = data["runId"], data["destinationId"]
        await self._start(
            DELIVER_TO_DESTINATION_WORKFLOW,
            DeliverToDestinationInput(
                run_id, destination_id, data["medium"], self._delivery_retry()
            ),
            deliver_destination_workflow_id(run_id, destination_id, event_id),
        )

    async def _sync_schedule(self, report_id: str, org: str, event_id: str) -> None:
        await self._start(
            SYNC_SCHEDULE_WORKFLOW,
            SyncScheduleInput(report_id, org),
            f"schedule-sync-{report_id}-{event_id}",
        )

    async def resume_run(self, run_id: str, organization_id: str, *, cancel: bool) -> None:
        """For a run left QUEUED or CANCELLING (the reconciler): while its workflow runs, a
        cancel is signalled again (a QUEUED run needs nothing). When the workflow has closed
        (terminated by an operator, failed after its retries) or never existed, nothing would
        ever move the run again, so a new execution under the same id is started: it loads
        the run and carries on, or for a CANCELLING run stops the attempt's crawler and ends
        it CANCELLED. Two reconcilers at once start one execution: the second start meets
        the running one."""
        handle = self.temporal.get_workflow_handle(run_workflow_id(run_id))
        try:
            status = (await handle.describe()).status
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            status = None
        if status == WorkflowExecutionStatus.RUNNING:
            if cancel:
                await self.cancel_run(run_id)
            return
        await self._start(
            RUN_WORKFLOW,
            RunInput(run_id, organization_id),
            run_workflow_id(run_id),
            reuse=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )

    async def _start(
        self,
        workflow: str,
        arg: Any,
        workflow_id: str,
        reuse: WorkflowIDReusePolicy = WorkflowIDReusePolicy.REJECT_DUPLICATE,
    ) -> None:
        try:
            await self.temporal.start_workflow(
                workflow,
                arg,
                id=workflow_id,
                task_queue=self.settings.temporal_task_queue,
                id_reuse_policy=reuse,
            )
            log.info("workflow=started type=%s id=%s", workflow, workflow_id)
        except WorkflowAlreadyStartedError:
            log.info("workflow=duplicate type=%s id=%s", workflow, workflow_id)

    async def cancel_run(self, run_id: str) -> None:
        """Signal the run's workflow. Not started yet: it will find the run CANCELLING when
        it loads it. Already ended: nothing to stop."""
        handle = self.temporal.get_workflow_handle(run_workflow_id(run_id))
        try:
            await handle.signal(CANCEL_SIGNAL)
        except (RPCError, WorkflowFailureError) as error:
            if isinstance(error, RPCError) and error.status != RPCStatusCode.NOT_FOUND:
                raise
            log.info("workflow=not_running id=%s signal=cancel", run_workflow_id(run_id))
