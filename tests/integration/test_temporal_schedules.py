"""Temporal Schedules against the real dev server: ScheduleSync keeps them in step with a
report's schedule, and the preview (next_fire_times) equals when Temporal will fire,
across DST changes in zones east and west of UTC."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleOverlapPolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.support.platform import free_port
from tests.support.temporal import TemporalDevServer, temporal_binary
from trawl.domain.reports.schedule import next_fire_times, parse_schedule, temporal_cron
from trawl.workflows.inputs import SCHEDULED_RUN_WORKFLOW, ScheduledRunInput, schedule_id
from trawl.workflows.schedules import (
    CATCHUP_WINDOW,
    PAUSED_NOTE,
    RESUMED_NOTE,
    ScheduleSync,
    scheduled_run_workflow_id,
)

TASK_QUEUE = "trawl-schedules-test"


@pytest.fixture
async def client(temporal_server: TemporalDevServer) -> Client:
    return await Client.connect(temporal_server.address)


@pytest.fixture
async def sync(client: Client) -> AsyncIterator[ScheduleSync]:
    yield ScheduleSync(client, TASK_QUEUE)


@pytest.fixture
def report_id() -> str:
    return f"rep_{uuid.uuid4().hex[:12]}"


async def _describe(client: Client, report_id: str) -> ScheduleDescription:
    return await client.get_schedule_handle(schedule_id(report_id)).describe()


async def _action_args(client: Client, description: ScheduleDescription) -> list[Any]:
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    return await client.data_converter.decode(action.args, [ScheduledRunInput])


async def test_apply_creates_the_schedule_with_spec_action_and_policy(
    client: Client, sync: ScheduleSync, report_id: str
) -> None:
    schedule = parse_schedule("0 9 * * MON-FRI", "Europe/Berlin")
    await sync.apply(report_id, "org_1", schedule, paused=False)

    described = await _describe(client, report_id)
    spec, action = described.schedule.spec, described.schedule.action
    assert spec.time_zone_name == "Europe/Berlin"
    assert [c.comment for c in spec.calendars] == ["trawl:0 9 * * MON-FRI"]
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == SCHEDULED_RUN_WORKFLOW
    assert action.id == f"scheduled-run-{report_id}" == scheduled_run_workflow_id(report_id)
    assert action.task_queue == TASK_QUEUE
    assert await _action_args(client, described) == [ScheduledRunInput(report_id, "org_1")]
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert described.schedule.policy.catchup_window == CATCHUP_WINDOW
    assert not described.schedule.state.paused
    now = datetime.now(ZoneInfo("Europe/Berlin"))
    assert await sync.next_action_times(report_id) == next_fire_times(schedule, now, 10)


async def test_applying_the_same_state_again_changes_nothing(
    client: Client, sync: ScheduleSync, report_id: str
) -> None:
    schedule = parse_schedule("*/10 * * * *", "America/New_York")
    await sync.apply(report_id, "org_1", schedule, paused=True)
    before = await _describe(client, report_id)

    await sync.apply(report_id, "org_1", schedule, paused=True)

    after = await _describe(client, report_id)
    assert after.raw_description.conflict_token == before.raw_description.conflict_token
    assert after.info.last_updated_at == before.info.last_updated_at is None


async def test_apply_updates_the_cron_and_timezone_in_place(
    client: Client, sync: ScheduleSync, report_id: str
) -> None:
    await sync.apply(report_id, "org_1", parse_schedule("0 9 * * *", "UTC"), paused=False)
    created = (await _describe(client, report_id)).info.created_at

    changed = parse_schedule("30 6 * * SAT", "Asia/Tokyo")
    await sync.apply(report_id, "org_1", changed, paused=False)

    described = await _describe(client, report_id)
    assert described.info.created_at == created
    assert described.info.last_updated_at is not None
    assert [c.comment for c in described.schedule.spec.calendars] == ["trawl:30 6 * * SAT"]
    assert described.schedule.spec.time_zone_name == "Asia/Tokyo"
    now = datetime.now(ZoneInfo("Asia/Tokyo"))
    assert await sync.next_action_times(report_id) == next_fire_times(changed, now, 10)


async def test_pause_and_resume_are_reflected_in_describe(
    client: Client, sync: ScheduleSync, report_id: str
) -> None:
    schedule = parse_schedule("0 * * * *", "UTC")
    await sync.apply(report_id, "org_1", schedule, paused=False)

    await sync.apply(report_id, "org_1", schedule, paused=True)
    paused = (await _describe(client, report_id)).schedule.state
    assert (paused.paused, paused.note) == (True, PAUSED_NOTE)
    assert await sync.next_action_times(report_id) == []

    await sync.apply(report_id, "org_1", schedule, paused=False)
    resumed = (await _describe(client, report_id)).schedule.state
    assert (resumed.paused, resumed.note) == (False, RESUMED_NOTE)
    assert len(await sync.next_action_times(report_id)) == 10


async def test_delete_removes_the_schedule_and_deleting_twice_is_fine(
    client: Client, sync: ScheduleSync, report_id: str
) -> None:
    await sync.apply(report_id, "org_1", parse_schedule("@daily", "UTC"), paused=False)

    await sync.apply(report_id, "org_1", None, paused=False)

    with pytest.raises(RPCError) as missing:
        await _describe(client, report_id)
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert await sync.next_action_times(report_id) == []
    await sync.delete(report_id)
    await sync.apply(report_id, "org_1", None, paused=False)
    # And a schedule can come back after being removed.
    await sync.apply(report_id, "org_1", parse_schedule("@hourly", "UTC"), paused=False)
    assert len(await sync.next_action_times(report_id)) == 10


async def test_concurrent_applies_for_one_report_converge_without_failing(
    client: Client, sync: ScheduleSync, report_id: str
) -> None:
    schedule = parse_schedule("15 3 * * *", "Australia/Sydney")

    await asyncio.gather(*(sync.apply(report_id, "org_1", schedule, False) for _ in range(5)))

    described = await _describe(client, report_id)
    assert [c.comment for c in described.schedule.spec.calendars] == ["trawl:15 3 * * *"]
    assert await _action_args(client, described) == [ScheduledRunInput(report_id, "org_1")]


# (cron, timezone, local start): windows opening just before a DST change in 2027.
DST_CASES = [
    ("30 2 * * *", "Europe/Berlin", "2027-03-26T00:00"),
    ("30 2 * * *", "Europe/Berlin", "2027-10-29T00:00"),
    ("0 * * * *", "Europe/Berlin", "2027-10-31T00:30"),
    ("*/15 * * * *", "Europe/Berlin", "2027-10-31T01:20"),
    ("30 2 * * *", "America/New_York", "2027-03-12T00:00"),
    ("0 * * * *", "America/New_York", "2027-03-14T00:30"),
    ("30 1 * * *", "America/New_York", "2027-11-05T00:00"),
    ("*/20 * * * *", "America/New_York", "2027-11-07T00:10"),
    ("30 2 * * *", "Australia/Sydney", "2027-10-01T00:00"),
    ("0 * * * *", "Australia/Sydney", "2027-04-04T01:30"),
    ("15 2 * * *", "Australia/Lord_Howe", "2027-10-01T00:00"),
    ("*/15 * * * *", "Australia/Lord_Howe", "2027-04-04T00:50"),
    ("*/20 1-3 * * *", "Europe/London", "2027-03-28T00:10"),
    ("0 9 1-7 * MON", "America/New_York", "2027-01-01T00:00"),
    ("*/30 * * * * *", "Europe/Berlin", "2027-03-28T01:57"),
]


@pytest.mark.parametrize(("cron", "timezone", "start"), DST_CASES)
async def test_temporal_fires_when_the_preview_says(
    client: Client, cron: str, timezone: str, start: str
) -> None:
    schedule = parse_schedule(cron, timezone)
    start_at = datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(timezone))
    handle = await client.create_schedule(
        f"preview-{uuid.uuid4().hex[:12]}",
        Schedule(
            action=ScheduleActionStartWorkflow("NeverRuns", id="never", task_queue="nowhere"),
            spec=ScheduleSpec(
                cron_expressions=[temporal_cron(schedule)],
                time_zone_name=timezone,
                start_at=start_at,
            ),
            state=ScheduleState(paused=True),
        ),
    )
    try:
        temporal = (await handle.describe()).info.next_action_times
    finally:
        await handle.delete()
    # Temporal's first candidate is start_at itself; next_fire_times is strictly after.
    preview = next_fire_times(schedule, start_at - timedelta(seconds=1), len(temporal))
    assert len(temporal) == 10
    assert [t.timestamp() for t in preview] == [t.timestamp() for t in temporal]


@workflow.defn(name=SCHEDULED_RUN_WORKFLOW)
class EchoScheduledRun:
    """Stands in for the real scheduled-run workflow: hands back what the schedule sent."""

    @workflow.run
    async def run(self, run_input: ScheduledRunInput) -> ScheduledRunInput:
        return run_input


async def test_a_seconds_schedule_starts_the_scheduled_run_workflow(
    client: Client, report_id: str
) -> None:
    task_queue = f"scheduled-runs-{uuid.uuid4().hex[:8]}"
    sync = ScheduleSync(client, task_queue)
    # Unsandboxed: the sandbox would re-import this test module, pytest and all.
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[EchoScheduledRun],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        await sync.apply(report_id, "org_7", parse_schedule("*/2 * * * * *", "UTC"), False)
        try:
            workflow_id = await _first_started_workflow(client, report_id)
            handle = client.get_workflow_handle(workflow_id, result_type=ScheduledRunInput)
            result = await handle.result()
        finally:
            await sync.delete(report_id)
    assert workflow_id.startswith(f"scheduled-run-{report_id}-")
    assert result == ScheduledRunInput(report_id, "org_7")


async def _first_started_workflow(client: Client, report_id: str) -> str:
    async with asyncio.timeout(15):
        while True:
            recent = (await _describe(client, report_id)).info.recent_actions
            if recent:
                started = recent[0].action
                assert isinstance(started, ScheduleActionExecutionStartWorkflow)
                return started.workflow_id
            await asyncio.sleep(0.2)


async def test_schedules_survive_a_server_restart_and_a_crash(tmp_path: Path) -> None:
    server = TemporalDevServer(temporal_binary(), free_port(), tmp_path / "temporal.db")
    server.start()
    try:
        report_id = f"rep_{uuid.uuid4().hex[:12]}"
        schedule = parse_schedule("0 4 * * *", "Europe/Berlin")
        first = await Client.connect(server.address)
        await ScheduleSync(first, TASK_QUEUE).apply(report_id, "org_1", schedule, False)

        for bring_down_and_up in (server.restart, _crash_and_start(server)):
            bring_down_and_up()
            assert server.running
            sync = ScheduleSync(await Client.connect(server.address), TASK_QUEUE)
            now = datetime.now(ZoneInfo("Europe/Berlin"))
            assert await sync.next_action_times(report_id) == next_fire_times(schedule, now, 10)
    finally:
        server.kill()  # a throwaway server: no need to wait for a graceful stop


def _crash_and_start(server: TemporalDevServer) -> Callable[[], None]:
    def crash_and_start() -> None:
        server.kill()
        server.start()

    return crash_and_start
