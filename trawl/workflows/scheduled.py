"""Workflows around schedules. ScheduledRunWorkflow is what a report's Temporal Schedule
starts at each fire: it asks the runs service for a run (skipped when one is active), and the
resulting RunRequested event starts the RunReportWorkflow like any other run.
SyncReportScheduleWorkflow makes the Temporal Schedule match the report in the database."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from trawl.workflows.activities import RunActivities
    from trawl.workflows.inputs import (
        SCHEDULED_RUN_WORKFLOW,
        SYNC_SCHEDULE_WORKFLOW,
        ScheduledRunInput,
        SyncScheduleInput,
    )

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))


@workflow.defn(name=SCHEDULED_RUN_WORKFLOW)
class ScheduledRunWorkflow:
    @workflow.run
    async def run(self, request: ScheduledRunInput) -> str:
        run_id: str = await workflow.execute_activity_method(
            RunActivities.request_scheduled_run,
            request,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
        )
        return run_id


@workflow.defn(name=SYNC_SCHEDULE_WORKFLOW)
class SyncReportScheduleWorkflow:
    @workflow.run
    async def run(self, request: SyncScheduleInput) -> None:
        await workflow.execute_activity_method(
            RunActivities.sync_schedule,
            request,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
        )
