"""Runs end to end through GraphQL: create a report, trigger it, and watch the run walk its
states through the outbox, EventBridge (moto), SQS, the handler, Temporal and a crawler
subprocess. Also retries, timeouts, cancellation, reruns, schedules and the audit log."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import delete, update
from temporalio.client import Client
from temporalio.service import RPCError

from tests.support.forwarding import read_stream
from tests.support.graphql import (
    GraphQLClient,
    Person,
    new_org,
    new_person,
    new_project,
    new_report,
    trigger_run,
)
from tests.support.runs import get_run, raw_id, wait_for_run
from trawl.crawlers.runners.attempt import AttemptFiles, ProcessRef
from trawl.crawlers.runners.subprocess_runner import SubprocessRunner
from trawl.domain.outbox import OutboxEvent
from trawl.domain.reports.models import Report, Run
from trawl.domain.reports.runs_service import RunCreator
from trawl.graphql.relay import to_global_id
from trawl.workflows.inputs import schedule_id

pytestmark = pytest.mark.e2e


async def _owner_project(gql: GraphQLClient) -> tuple[Person, str, str]:
    owner = await new_person(gql, "e2e")
    org = await new_org(gql, owner)
    return owner, org, await new_project(gql, owner, org)


async def _audit(
    gql: GraphQLClient, person: Person, org: str, **filters: Any
) -> list[dict[str, Any]]:
    result = await gql.execute(
        """query($id: ID!, $type: String) { organization(id: $id) {
             auditLog(first: 100, type: $type) { nodes { type data actor { kind } } } } }""",
        {"id": org, **filters},
        token=person.token,
    )
    return list(result.data["organization"]["auditLog"]["nodes"])


def _attempt_dir(gql: GraphQLClient, run_id: str, attempt: int) -> Any:
    return gql.platform.settings.runs_dir / raw_id(run_id) / f"attempt-{attempt}"


async def _stopped(gql: GraphQLClient, run_id: str) -> None:
    """The crawler is dead, and its supervisor recorded how it ended (after the forwarder
    drained what the crawler emitted)."""
    crawler = ProcessRef.read(AttemptFiles(_attempt_dir(gql, run_id, 1)).crawler_pid)
    assert crawler is not None and not crawler.alive()
    exit_file = _attempt_dir(gql, run_id, 1) / "exit.json"
    deadline = time.monotonic() + 30
    while not exit_file.exists():
        assert time.monotonic() < deadline, "the supervisor never recorded the crawler's end"
        await asyncio.sleep(0.1)


async def test_triggered_run_walks_its_states_to_succeeded(e2e: GraphQLClient) -> None:
    owner, org, project = await _owner_project(e2e)
    report = await new_report(e2e, owner, project, parameters={"count": 5})
    run_id = await trigger_run(e2e, owner, report["id"])
    first = await get_run(e2e, owner, run_id)
    assert first["state"] in {"QUEUED", "STARTING", "RUNNING", "SUCCEEDED"}
    assert first["trigger"]["kind"] == "MANUAL" and first["trigger"]["user"]["id"] == owner.user_id

    run = await wait_for_run(e2e, owner, run_id)
    assert run["state"] == "SUCCEEDED", run
    assert run["attempt"] == 1 and run["failureReason"] is None
    assert run["stats"]["records"] == 5
    assert run["queuedAt"] <= run["startedAt"] <= run["runningAt"] <= run["finishedAt"]
    assert [(a["attempt"], a["state"]) for a in run["attempts"]] == [(1, "SUCCEEDED")]
    in_stream = [r for r in read_stream(e2e.platform.settings) if r["run_id"] == raw_id(run_id)]
    assert sorted(r["payload"]["n"] for r in in_stream) == [0, 1, 2, 3, 4]

    # Every state change travelled as an event into the audit log, in order.
    async def states_audited() -> list[str]:
        nodes = await _audit(e2e, owner, org, type="RunStateChanged")
        return [n["data"]["state"] for n in reversed(nodes) if n["data"]["runId"] == raw_id(run_id)]

    deadline = time.monotonic() + 30
    while await states_audited() != ["STARTING", "RUNNING", "SUCCEEDED"]:
        assert time.monotonic() < deadline, await states_audited()
        await asyncio.sleep(0.2)
    requested = await _audit(e2e, owner, org, type="RunRequested")
    assert [n["data"]["runId"] for n in requested] == [raw_id(run_id)]
    assert requested[0]["actor"]["kind"] == "user"


async def test_failing_attempts_are_retried_then_the_run_fails_with_its_reason(
    e2e: GraphQLClient,
) -> None:
    owner, _org, project = await _owner_project(e2e)
    report = await new_report(
        e2e,
        owner,
        project,
        parameters={"count": 1, "fail": True, "fail_message": "the site said no"},
        retry={"maxAttempts": 3, "backoffSeconds": 0},
    )
    run = await wait_for_run(e2e, owner, await trigger_run(e2e, owner, report["id"]))
    assert run["state"] == "FAILED"
    assert run["attempt"] == 3
    assert "the site said no" in run["failureReason"]
    assert [(a["attempt"], a["state"]) for a in run["attempts"]] == [
        (1, "FAILED"),
        (2, "FAILED"),
        (3, "FAILED"),
    ]
    assert all("the site said no" in a["failureReason"] for a in run["attempts"])
    assert all(a["exitCode"] == 1 for a in run["attempts"])


async def test_a_retry_after_a_failed_attempt_can_succeed(e2e: GraphQLClient) -> None:
    owner, _org, project = await _owner_project(e2e)
    report = await new_report(
        e2e,
        owner,
        project,
        parameters={"count": 2, "fail": True, "fail_attempts": 1},
        retry={"maxAttempts": 2, "backoffSeconds": 1},
    )
    run = await wait_for_run(e2e, owner, await trigger_run(e2e, owner, report["id"]))
    assert run["state"] == "SUCCEEDED", run
    assert [(a["attempt"], a["state"]) for a in run["attempts"]] == [
        (1, "FAILED"),
        (2, "SUCCEEDED"),
    ]


async def test_a_hanging_crawler_is_timed_out_and_stopped(e2e: GraphQLClient) -> None:
    owner, _org, project = await _owner_project(e2e)
    report = await new_report(
        e2e,
        owner,
        project,
        parameters={"count": 1, "hang": True},
        timeoutSeconds=2,
        retry={"maxAttempts": 3, "backoffSeconds": 0},
    )
    run_id = await trigger_run(e2e, owner, report["id"])
    run = await wait_for_run(e2e, owner, run_id)
    assert run["state"] == "TIMED_OUT"
    assert "timeout of 2 seconds" in run["failureReason"]
    assert run["attempt"] == 1, "a timeout is final, not retried"
    await _stopped(e2e, run_id)


async def test_cancelling_a_running_run_stops_the_crawler(e2e: GraphQLClient) -> None:
    owner, _org, project = await _owner_project(e2e)
    report = await new_report(e2e, owner, project, parameters={"count": 1, "hang": True})
    run_id = await trigger_run(e2e, owner, report["id"])
    await wait_for_run(e2e, owner, run_id, {"RUNNING"})
    payload = await e2e.mutate("cancelRun", {"runId": run_id}, "run { state }", token=owner.token)
    assert payload["errors"] == [] and payload["run"]["state"] == "CANCELLING"
    run = await wait_for_run(e2e, owner, run_id)
    assert run["state"] == "CANCELLED"
    assert run["cancelRequestedAt"] is not None
    await _stopped(e2e, run_id)
    again = await e2e.mutate("cancelRun", {"runId": run_id}, "run { state }", token=owner.token)
    assert again["errors"][0]["code"] == "PRECONDITION_FAILED"


async def test_rerun_of_a_finished_run_runs_again(e2e: GraphQLClient) -> None:
    owner, _org, project = await _owner_project(e2e)
    report = await new_report(e2e, owner, project, parameters={"count": 2})
    first = await trigger_run(e2e, owner, report["id"])
    await wait_for_run(e2e, owner, first)
    payload = await e2e.mutate("rerun", {"runId": first}, "run { id }", token=owner.token)
    assert payload["errors"] == []
    second = await wait_for_run(e2e, owner, payload["run"]["id"])
    assert second["state"] == "SUCCEEDED"
    assert second["trigger"]["kind"] == "RERUN" and second["rerunOf"]["id"] == first


async def _schedule_exists(e2e: GraphQLClient, report_id: str) -> bool:
    client = await Client.connect(e2e.platform.settings.temporal_target)
    try:
        await client.get_schedule_handle(schedule_id(raw_id(report_id))).describe()
    except RPCError:
        return False
    return True


async def test_a_schedule_fires_runs_and_is_removed_with_the_report(e2e: GraphQLClient) -> None:
    owner, _org, project = await _owner_project(e2e)
    report = await new_report(
        e2e,
        owner,
        project,
        parameters={"count": 1},
        schedule={"cron": "*/2 * * * * *", "timezone": "Europe/Paris"},
    )
    query = """query($id: ID!) { report(id: $id) { runs(first: 10) { nodes {
                 id state trigger { kind scheduleId } } } } }"""
    deadline = time.monotonic() + 60
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        result = await e2e.execute(query, {"id": report["id"]}, token=owner.token)
        runs = list(result.data["report"]["runs"]["nodes"])
        if any(r["state"] == "SUCCEEDED" for r in runs):
            break
        await asyncio.sleep(0.3)
    done = [r for r in runs if r["state"] == "SUCCEEDED"]
    assert done, runs
    assert done[0]["trigger"]["kind"] == "SCHEDULE"
    assert done[0]["trigger"]["scheduleId"] == schedule_id(raw_id(report["id"]))
    assert await _schedule_exists(e2e, report["id"])

    payload = await e2e.mutate(
        "deleteReport", {"id": report["id"]}, "deletedReportId", token=owner.token
    )
    assert payload["errors"] == []
    deadline = time.monotonic() + 30
    while await _schedule_exists(e2e, report["id"]):
        assert time.monotonic() < deadline, "the schedule outlived its report"
        await asyncio.sleep(0.2)


async def test_the_crawler_of_a_run_is_launched_once(e2e: GraphQLClient) -> None:
    owner, _org, project = await _owner_project(e2e)
    report = await new_report(e2e, owner, project, parameters={"count": 1})
    run_id = await trigger_run(e2e, owner, report["id"])
    await wait_for_run(e2e, owner, run_id)
    runner = SubprocessRunner(e2e.platform.settings.runs_dir)
    from trawl.crawlers.runners.base import CrawlerSpec

    spec = CrawlerSpec(
        run_id=raw_id(run_id),
        attempt=1,
        organization_id="",
        project_id="",
        report_id="",
        service_code="demo.echo",
        entry_point="",
        image="",
        version="",
        parameters={},
        timeout_seconds=1,
    )
    assert await runner.launch_count(spec) == 1


async def test_deleting_a_project_removes_its_schedules_and_stops_its_runs(
    e2e: GraphQLClient,
) -> None:
    owner, org, project = await _owner_project(e2e)
    scheduled = await new_report(
        e2e,
        owner,
        project,
        parameters={"count": 1},
        schedule={"cron": "0 3 * * *", "timezone": "UTC"},
    )
    hanging = await new_report(e2e, owner, project, parameters={"count": 1, "hang": True})
    run_id = await trigger_run(e2e, owner, hanging["id"])
    await wait_for_run(e2e, owner, run_id, {"RUNNING"})
    deadline = time.monotonic() + 30
    while not await _schedule_exists(e2e, scheduled["id"]):
        assert time.monotonic() < deadline, "the schedule was never created"
        await asyncio.sleep(0.2)

    payload = await e2e.mutate(
        "deleteProject", {"id": project}, "deletedProjectId", token=owner.token
    )
    assert payload["errors"] == []
    exit_file = _attempt_dir(e2e, run_id, 1) / "exit.json"
    deadline = time.monotonic() + 30
    while await _schedule_exists(e2e, scheduled["id"]) or not exit_file.exists():
        assert time.monotonic() < deadline, "schedule or crawler outlived the project"
        await asyncio.sleep(0.2)
    deleted = await _audit(e2e, owner, org, type="ProjectDeleted")
    assert deleted[0]["data"]["projectId"] == raw_id(project)
    assert sorted(deleted[0]["data"]["reportIds"]) == sorted(
        [raw_id(scheduled["id"]), raw_id(hanging["id"])]
    )
    assert deleted[0]["data"]["activeRunIds"] == [raw_id(run_id)]


async def test_a_run_cancelled_while_its_signal_is_lost_still_ends_cancelled(
    e2e: GraphQLClient,
) -> None:
    """The cancel reached the database but its signal never reached the workflow (it is
    set here directly, with no event): the workflow's final move is refused and it ends the
    run CANCELLED instead of leaving it CANCELLING with no workflow."""
    owner, _org, project = await _owner_project(e2e)
    report = await new_report(e2e, owner, project, parameters={"count": 4, "delay_seconds": 0.5})
    run_id = await trigger_run(e2e, owner, report["id"])
    await wait_for_run(e2e, owner, run_id, {"RUNNING"})
    db = e2e.platform.platform.db
    assert db is not None
    async with db.transaction() as session:
        await session.execute(
            update(Run).where(Run.id == raw_id(run_id)).values(state="cancelling")
        )
    run = await wait_for_run(e2e, owner, run_id)
    assert run["state"] == "CANCELLED", run


async def test_a_run_whose_event_was_lost_is_started_by_the_reconciler(
    e2e: GraphQLClient,
) -> None:
    """A run committed without its RunRequested event (as if the event had been lost for
    good): the workers' reconciler finds it QUEUED past the limit and starts it."""
    owner, _org, project = await _owner_project(e2e)
    report = await new_report(e2e, owner, project, parameters={"count": 2})
    db = e2e.platform.platform.db
    assert db is not None
    async with db.transaction() as session:
        found = await session.get(Report, raw_id(report["id"]))
        assert found is not None
        run = await RunCreator(session, e2e.platform.settings).create(
            found, ("system", "test"), kind="manual", triggered_by="test"
        )
        await session.execute(delete(OutboxEvent).where(OutboxEvent.data.contains(run.id)))
    run_id = to_global_id("Run", run.id)
    finished = await wait_for_run(e2e, owner, run_id, within_seconds=60)
    assert finished["state"] == "SUCCEEDED", finished


async def test_a_cancel_whose_workflow_was_terminated_is_finished_by_the_reconciler(
    e2e: GraphQLClient,
) -> None:
    """An operator terminated the run's workflow (its crawler keeps hanging), then the user
    cancelled: the signal finds no open workflow. The reconciler starts a new execution
    under the run's workflow id, which stops the crawler and ends the run CANCELLED."""
    owner, _org, project = await _owner_project(e2e)
    report = await new_report(e2e, owner, project, parameters={"count": 1, "hang": True})
    run_id = await trigger_run(e2e, owner, report["id"])
    await wait_for_run(e2e, owner, run_id, {"RUNNING"})
    client = await Client.connect(e2e.platform.settings.temporal_target)
    handle = client.get_workflow_handle(f"run-{raw_id(run_id)}")
    first_execution = (await handle.describe()).run_id
    await handle.terminate(reason="operator")
    crawler = ProcessRef.read(AttemptFiles(_attempt_dir(e2e, run_id, 1)).crawler_pid)
    assert crawler is not None and crawler.alive(), "terminating a workflow stops nothing"

    payload = await e2e.mutate("cancelRun", {"runId": run_id}, "run { state }", token=owner.token)
    assert payload["errors"] == [] and payload["run"]["state"] == "CANCELLING"
    run = await wait_for_run(e2e, owner, run_id, within_seconds=60)
    assert run["state"] == "CANCELLED", run
    await _stopped(e2e, run_id)
    finisher = await client.get_workflow_handle(f"run-{raw_id(run_id)}").describe()
    assert finisher.run_id != first_execution
    assert finisher.status is not None and finisher.status.name == "COMPLETED"
