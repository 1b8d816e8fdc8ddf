"""Keeps one Temporal Schedule per scheduled report in step with the report's schedule.

`ScheduleSync.apply` is the single entry point: it creates, updates, pauses, resumes or
deletes `schedule_id(report_id)` so that Temporal holds exactly the desired state, and does
nothing when it already does. It is safe to call twice, and concurrently for one report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from trawl.domain.reports.schedule import CronSchedule, temporal_cron
from trawl.workflows.inputs import SCHEDULED_RUN_WORKFLOW, ScheduledRunInput, schedule_id

# Skip a fire while the previous scheduled run is still going: two crawls of one report at
# once would load the target site twice and bill the customer twice for one snapshot.
OVERLAP = ScheduleOverlapPolicy.SKIP
# After downtime (server, workers) Temporal would otherwise start every fire missed within
# its default one-year window, one after the other. A report's data is a snapshot of "now",
# so a burst of stale runs only costs crawl time and money; a minute covers a restart.
CATCHUP_WINDOW = timedelta(seconds=60)
PAUSED_NOTE = "Paused from Trawl"
RESUMED_NOTE = "Resumed from Trawl"
# Temporal keeps a cron only as compiled ranges; the calendar comment carries the cron we
# gave it, which is how a later apply recognises that the spec is already the desired one.
_COMMENT_PREFIX = "trawl:"


def scheduled_run_workflow_id(report_id: str) -> str:
    """Temporal appends the scheduled time, so each fire gets its own workflow id."""
    return f"scheduled-run-{report_id}"


@dataclass(frozen=True)
class _Desired:
    report_id: str
    organization_id: str
    schedule: CronSchedule
    paused: bool
    task_queue: str

    @property
    def comment(self) -> str:
        return f"{_COMMENT_PREFIX}{self.schedule.cron}"

    def spec(self) -> ScheduleSpec:
        return ScheduleSpec(
            cron_expressions=[f"{temporal_cron(self.schedule)} # {self.comment}"],
            time_zone_name=self.schedule.timezone,
        )

    def action(self) -> ScheduleActionStartWorkflow:
        return ScheduleActionStartWorkflow(
            SCHEDULED_RUN_WORKFLOW,
            ScheduledRunInput(self.report_id, self.organization_id),
            id=scheduled_run_workflow_id(self.report_id),
            task_queue=self.task_queue,
        )

    def build(self, note: str | None) -> Schedule:
        return Schedule(
            action=self.action(),
            spec=self.spec(),
            policy=SchedulePolicy(overlap=OVERLAP, catchup_window=CATCHUP_WINDOW),
            state=ScheduleState(paused=self.paused, note=note),
        )


class ScheduleSync:
    """Applies a report's schedule to Temporal; the client is connected by the caller."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def apply(
        self,
        report_id: str,
        organization_id: str,
        schedule: CronSchedule | None,
        paused: bool,
    ) -> None:
        """Make Temporal hold this state: no schedule when `schedule` is None."""
        if schedule is None:
            await self.delete(report_id)
            return
        desired = _Desired(report_id, organization_id, schedule, paused, self._task_queue)
        handle = self._handle(report_id)
        try:
            await handle.update(self._updater(desired))
            return
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        note = PAUSED_NOTE if paused else None
        try:
            await self._client.create_schedule(handle.id, desired.build(note))
        except ScheduleAlreadyRunningError:
            # Another apply created it between our update and create: converge on our state.
            await handle.update(self._updater(desired))

    async def delete(self, report_id: str) -> None:
        """Remove the schedule; one that does not exist is already deleted."""
        try:
            await self._handle(report_id).delete()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise

    async def next_action_times(self, report_id: str) -> list[datetime]:
        """When Temporal will fire next (UTC); empty when there is no schedule or it is
        paused (Temporal still lists times for a paused schedule, but none of them fires)."""
        try:
            description = await self._handle(report_id).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return []
            raise
        if description.schedule.state.paused:
            return []
        return list(description.info.next_action_times)

    def _handle(self, report_id: str) -> ScheduleHandle:
        return self._client.get_schedule_handle(schedule_id(report_id))

    def _updater(self, desired: _Desired) -> _Updater:
        return _Updater(self._client, desired)


class _Updater:
    """The callback for ScheduleHandle.update: None (no write) when already in step."""

    def __init__(self, client: Client, desired: _Desired) -> None:
        self._client = client
        self._desired = desired

    async def __call__(self, update: ScheduleUpdateInput) -> ScheduleUpdate | None:
        current = update.description.schedule
        if await self._in_step(current):
            return None
        note = current.state.note
        if current.state.paused != self._desired.paused:
            note = PAUSED_NOTE if self._desired.paused else RESUMED_NOTE
        return ScheduleUpdate(self._desired.build(note))

    async def _in_step(self, current: Schedule) -> bool:
        desired = self._desired
        return (
            current.state.paused == desired.paused
            and _spec_in_step(current.spec, desired)
            and current.policy.overlap == OVERLAP
            and current.policy.catchup_window == CATCHUP_WINDOW
            and not current.policy.pause_on_failure
            and await self._action_in_step(current.action)
        )

    async def _action_in_step(self, action: object) -> bool:
        expected = self._desired.action()
        if not isinstance(action, ScheduleActionStartWorkflow):
            return False
        if (action.workflow, action.id, action.task_queue) != (
            expected.workflow,
            expected.id,
            expected.task_queue,
        ):
            return False
        # Described actions carry their arguments as raw payloads.
        payloads = cast(Sequence[Payload], action.args)
        if len(payloads) != 1:
            return False
        try:
            args = await self._client.data_converter.decode(payloads, [ScheduledRunInput])
        except Exception:  # an argument of another shape: not ours, so rewrite it
            return False
        return list(args) == list(expected.args)


def _spec_in_step(spec: ScheduleSpec, desired: _Desired) -> bool:
    return (
        [calendar.comment for calendar in spec.calendars] == [desired.comment]
        and not spec.intervals
        and not spec.cron_expressions
        and not spec.skip
        and spec.start_at is None
        and spec.end_at is None
        and not spec.jitter
        and spec.time_zone_name == desired.schedule.timezone
    )
