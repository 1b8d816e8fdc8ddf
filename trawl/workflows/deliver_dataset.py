"""Delivery of a succeeded run's dataset to each destination of its report.

    DeliverDatasetWorkflow(run):  plan → one DeliverToDestinationWorkflow per destination,
        concurrently; a destination that fails never fails the others nor the parent.
    DeliverToDestinationWorkflow(run, destination):  deliver_to_destination with backoff
        (each attempt records itself) → DELIVERED with its location, or FAILED with the
        last error once the attempts are spent or the error is one retrying cannot fix.

Deterministic: all I/O is in activities; no secret enters the history (the activity reads
the plan itself)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from trawl.workflows.delivery_activities import (
        DeliverRequest,
        DeliveryActivities,
        DeliveryRecord,
        DeliveryTargets,
    )
    from trawl.workflows.inputs import (
        DELIVER_DATASET_WORKFLOW,
        DELIVER_TO_DESTINATION_WORKFLOW,
        DeliverDatasetInput,
        DeliverToDestinationInput,
        deliver_destination_workflow_id,
    )

SERVICE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)
SERVICE_TIMEOUT = timedelta(seconds=30)
# One attempt: export, download, send. Large datasets over slow links take a while.
ATTEMPT_TIMEOUT = timedelta(minutes=15)
MAX_RETRY_INTERVAL = timedelta(seconds=60)


@workflow.defn(name=DELIVER_DATASET_WORKFLOW)
class DeliverDatasetWorkflow:
    @workflow.run
    async def run(self, request: DeliverDatasetInput) -> dict[str, str]:
        targets: DeliveryTargets = await workflow.execute_activity_method(
            DeliveryActivities.targets,
            request.run_id,
            start_to_close_timeout=SERVICE_TIMEOUT,
            retry_policy=SERVICE_RETRY,
        )
        if targets.run_state != "SUCCEEDED" or not targets.destinations:
            return {}
        outcomes = await asyncio.gather(
            *(
                self._child(
                    DeliverToDestinationInput(
                        request.run_id, t.destination_id, t.medium, request.retry
                    )
                )
                for t in targets.destinations
            )
        )
        return dict(zip((t.destination_id for t in targets.destinations), outcomes, strict=True))

    @staticmethod
    async def _child(child: DeliverToDestinationInput) -> str:
        try:
            result: str = await workflow.execute_child_workflow(
                DELIVER_TO_DESTINATION_WORKFLOW,
                child,
                id=deliver_destination_workflow_id(child.run_id, child.destination_id),
                result_type=str,
            )
        except ChildWorkflowError:
            return "FAILED"
        return result


@workflow.defn(name=DELIVER_TO_DESTINATION_WORKFLOW)
class DeliverToDestinationWorkflow:
    @workflow.run
    async def run(self, request: DeliverToDestinationInput) -> str:
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=request.retry.initial_seconds),
            backoff_coefficient=2.0,
            maximum_interval=MAX_RETRY_INTERVAL,
            maximum_attempts=request.retry.max_attempts,
        )
        try:
            location: str = await workflow.execute_activity_method(
                DeliveryActivities.deliver,
                DeliverRequest(request.run_id, request.destination_id, request.medium),
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                retry_policy=retry,
            )
        except ActivityError as error:
            await self._record(request, "FAILED", error=_reason(error))
            return "FAILED"
        await self._record(request, "DELIVERED", location=location)
        return "DELIVERED"

    @staticmethod
    async def _record(
        request: DeliverToDestinationInput, state: str, *, error: str = "", location: str = ""
    ) -> None:
        await workflow.execute_activity_method(
            DeliveryActivities.record,
            DeliveryRecord(
                request.run_id,
                request.destination_id,
                request.medium,
                state,
                error=error,
                location=location,
            ),
            start_to_close_timeout=SERVICE_TIMEOUT,
            retry_policy=SERVICE_RETRY,
        )


def _reason(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or error)
