"""The reports service side of the stream job: the record schema it validates against, the
per-run totals it reports, and RunDatasetReady once a run has ended and every record of its
last attempt was taken in. Real gRPC to the running platform, real database; GraphQL shows
the result as the frontend reads it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest

from tests.support.graphql import (
    GraphQLClient,
    Person,
    new_owner_with_project,
    new_report,
    trigger_run,
)
from tests.support.runs import raw_id
from tests.support.system_calls import outbox_events, system_caller
from trawl.graphql.relay import to_global_id
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb

READY = "RunDatasetReady"
SCHEMA = {
    "type": "object",
    "properties": {"sku": {"type": "string"}, "price": {"type": "number"}},
    "required": ["sku"],
}


async def _queued_run(gql: GraphQLClient, **report: Any) -> tuple[Person, str, str, str]:
    """A fresh organization's queued run: (owner, raw org id, raw report id, raw run id)."""
    owner, org, project = await new_owner_with_project(gql)
    created = await new_report(gql, owner, project, **report)
    run = await trigger_run(gql, owner, created["id"])
    return owner, raw_id(org), raw_id(created["id"]), raw_id(run)


async def _rpc_error(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def _stats(accepted: int = 7, complete_attempt: int = 1, **more: int) -> dict[str, int]:
    values = {"accepted": accepted, "rejected": 3, "duplicates": 2, "stored_bytes": 700}
    return values | {"complete_attempt": complete_attempt} | more


# -- GetRecordSchema -----------------------------------------------------------------------


async def test_record_schema_answers_the_reports_schema_keys_and_tenant(
    gql: GraphQLClient,
) -> None:
    _owner, org, report, _run = await _queued_run(gql, recordSchema=SCHEMA, recordKeyFields=["sku"])
    async with system_caller(gql.platform) as system:
        reply = await system.record_schema(report)
    assert (reply.report_id, reply.organization_id) == (report, org)
    assert json.loads(reply.record_schema_json) == SCHEMA
    assert list(reply.record_key_fields) == ["sku"]
    assert len(reply.version) == 64


async def test_record_schema_of_an_unknown_or_deleted_report_is_not_found(
    gql: GraphQLClient,
) -> None:
    owner, _org, project = await new_owner_with_project(gql)
    report = await new_report(gql, owner, project)
    deleted = await gql.mutate("deleteReport", {"id": report["id"]}, "", token=owner.token)
    assert deleted["errors"] == []
    async with system_caller(gql.platform) as system:
        for report_id in (raw_id(report["id"]), "0190d6a4-0000-7000-8000-000000000000"):
            error = await _rpc_error(system.record_schema(report_id))
            assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_record_schema_is_refused_to_a_user_even_the_owner(gql: GraphQLClient) -> None:
    owner, _org, report, _run = await _queued_run(gql)
    async with system_caller(gql.platform) as system:
        error = await _rpc_error(system.record_schema(report, token=owner.token))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_schema_version_changes_with_the_schema_and_keys_only(gql: GraphQLClient) -> None:
    owner, _org, project = await new_owner_with_project(gql)
    created = await new_report(gql, owner, project, recordSchema=SCHEMA)
    report = raw_id(created["id"])

    async def update(**fields: Any) -> str:
        payload = await gql.mutate(
            "updateReport", {"id": created["id"], **fields}, "report { id }", token=owner.token
        )
        assert payload["errors"] == [], payload
        async with system_caller(gql.platform) as system:
            return (await system.record_schema(report)).version

    first = await update()
    assert await update(name="Renamed", description="no schema change") == first
    assert await update(recordSchema=dict(reversed(SCHEMA.items()))) == first
    wider = SCHEMA | {"required": []}
    second = await update(recordSchema=wider)
    assert second != first
    third = await update(recordKeyFields=["sku"])
    assert third not in (first, second)
    archived = await gql.mutate("archiveReport", {"id": created["id"]}, "", token=owner.token)
    assert archived["errors"] == []
    async with system_caller(gql.platform) as system:
        assert (await system.record_schema(report)).version == third


# -- ReportStreamStats ---------------------------------------------------------------------


async def test_stream_stats_store_absolute_totals_even_after_the_run_ended(
    gql: GraphQLClient,
) -> None:
    _owner, org, _report, run = await _queued_run(gql)
    async with system_caller(gql.platform) as system:
        first = await system.stream_stats(run, org, **_stats(accepted=5, complete_attempt=0))
        assert first.stream.accepted == 5
        await system.succeed(run)
        reply = await system.stream_stats(run, org, **_stats(accepted=9))
    assert reply.state == pb.RUN_STATE_SUCCEEDED
    assert (reply.stream.accepted, reply.stream.rejected, reply.stream.duplicates) == (9, 3, 2)
    assert (reply.stream.stored_bytes, reply.stream.complete_attempt) == (700, 1)


async def test_stream_stats_claiming_another_organization_are_not_found_and_change_nothing(
    gql: GraphQLClient,
) -> None:
    owner, _org, _report, run = await _queued_run(gql)
    _other_owner, other_org, _other_report, _other_run = await _queued_run(gql)
    async with system_caller(gql.platform) as system:
        wrong_org = await _rpc_error(system.stream_stats(run, other_org, **_stats()))
        unknown = await _rpc_error(
            system.stream_stats("0190d6a4-0000-7000-8000-000000000000", other_org, **_stats())
        )
        await system.succeed(run)
    assert wrong_org.code() == unknown.code() == grpc.StatusCode.NOT_FOUND
    assert wrong_org.details().replace(run, "?") == unknown.details().replace(
        "0190d6a4-0000-7000-8000-000000000000", "?"
    )
    seen = await _run_stats(gql, owner, run)
    assert seen["stats"]["accepted"] == 0 and seen["datasetReadyAt"] is None
    assert await outbox_events(gql.platform, READY, run) == []


async def test_negative_stream_stats_are_invalid(gql: GraphQLClient) -> None:
    _owner, org, _report, run = await _queued_run(gql)
    async with system_caller(gql.platform) as system:
        for name in ("accepted", "rejected", "duplicates", "stored_bytes", "complete_attempt"):
            error = await _rpc_error(system.stream_stats(run, org, **_stats(**{name: -1})))
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, name


async def test_stream_stats_are_refused_to_a_user(gql: GraphQLClient) -> None:
    owner, org, _report, run = await _queued_run(gql)
    async with system_caller(gql.platform) as system:
        error = await _rpc_error(system.stream_stats(run, org, token=owner.token, **_stats()))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


# -- RunDatasetReady -----------------------------------------------------------------------


async def test_dataset_ready_once_when_the_stream_completes_after_the_run_ended(
    gql: GraphQLClient,
) -> None:
    _owner, org, report, run = await _queued_run(gql)
    async with system_caller(gql.platform) as system:
        await system.succeed(run)
        partial = await system.stream_stats(run, org, **_stats(complete_attempt=0))
        assert not partial.HasField("dataset_ready_at")
        assert await outbox_events(gql.platform, READY, run) == []
        done = await system.stream_stats(run, org, **_stats(accepted=8))
        assert done.HasField("dataset_ready_at")
        again = await system.stream_stats(run, org, **_stats(accepted=8))
        assert again.dataset_ready_at == done.dataset_ready_at
    events = await outbox_events(gql.platform, READY, run)
    assert events == [
        {
            "runId": run,
            "reportId": report,
            "projectId": done.project_id,
            "state": "SUCCEEDED",
            "attempt": 1,
            "accepted": 8,
            "rejected": 3,
            "duplicates": 2,
            "storedBytes": 700,
        }
    ]


async def test_dataset_ready_once_when_the_run_ends_after_the_stream_completed(
    gql: GraphQLClient,
) -> None:
    _owner, org, _report, run = await _queued_run(gql)
    async with system_caller(gql.platform) as system:
        await system.transition(run, pb.RUN_STATE_STARTING, 1)
        await system.transition(run, pb.RUN_STATE_RUNNING, 1)
        early = await system.stream_stats(run, org, **_stats())
        assert not early.HasField("dataset_ready_at")
        ended = await system.transition(run, pb.RUN_STATE_FAILED, 1, failure_reason="exit 1")
        assert ended.HasField("dataset_ready_at")
        # The same transition asked again (a retried activity) emits nothing new.
        await system.transition(run, pb.RUN_STATE_FAILED, 1, failure_reason="exit 1")
    [event] = await outbox_events(gql.platform, READY, run)
    assert (event["state"], event["attempt"], event["accepted"]) == ("FAILED", 1, 7)


async def test_no_dataset_ready_while_an_earlier_attempt_is_the_last_complete_one(
    gql: GraphQLClient,
) -> None:
    _owner, org, _report, run = await _queued_run(gql)
    async with system_caller(gql.platform) as system:
        for attempt in (1, 2):
            await system.transition(run, pb.RUN_STATE_STARTING, attempt)
        await system.transition(run, pb.RUN_STATE_RUNNING, 2)
        await system.stream_stats(run, org, **_stats(complete_attempt=1))
        ended = await system.transition(run, pb.RUN_STATE_SUCCEEDED, 2)
        late = await system.stream_stats(run, org, **_stats(complete_attempt=1))
        assert not ended.HasField("dataset_ready_at") and not late.HasField("dataset_ready_at")
        assert await outbox_events(gql.platform, READY, run) == []
        await system.stream_stats(run, org, **_stats(complete_attempt=2))
    assert [e["attempt"] for e in await outbox_events(gql.platform, READY, run)] == [2]


async def test_dataset_ready_exactly_once_under_concurrent_stats_and_end(
    gql: GraphQLClient,
) -> None:
    _owner, org, _report, run = await _queued_run(gql)
    async with system_caller(gql.platform) as system:
        await system.transition(run, pb.RUN_STATE_STARTING, 1)
        await system.transition(run, pb.RUN_STATE_RUNNING, 1)
        await asyncio.gather(
            system.transition(run, pb.RUN_STATE_SUCCEEDED, 1),
            *(system.stream_stats(run, org, **_stats(accepted=n)) for n in range(8)),
        )
    assert len(await outbox_events(gql.platform, READY, run)) == 1


async def test_a_run_cancelled_before_it_started_has_its_empty_dataset_ready(
    gql: GraphQLClient,
) -> None:
    owner, _org, project = await new_owner_with_project(gql)
    report = await new_report(gql, owner, project)
    run = await trigger_run(gql, owner, report["id"])
    cancelled = await gql.mutate("cancelRun", {"runId": run}, "run { state }", token=owner.token)
    assert cancelled["run"]["state"] == "CANCELLED"
    [event] = await outbox_events(gql.platform, READY, raw_id(run))
    assert (event["state"], event["attempt"], event["accepted"]) == ("CANCELLED", 0, 0)


# -- GraphQL -------------------------------------------------------------------------------

RUN_STATS = """query($id: ID!) { run(id: $id) { datasetReadyAt finishedAt
  stats { pages records errors bytes accepted rejected duplicates storedBytes } } }"""


async def _run_stats(gql: GraphQLClient, person: Person, run: str) -> dict[str, Any]:
    result = await gql.execute(RUN_STATS, {"id": to_global_id("Run", run)}, token=person.token)
    found: dict[str, Any] = result.data["run"]
    return found


async def test_graphql_run_shows_stream_stats_and_counts_rejected_records_as_errors(
    gql: GraphQLClient,
) -> None:
    owner, org, _report, run = await _queued_run(gql)
    before = await _run_stats(gql, owner, run)
    assert before["datasetReadyAt"] is None
    assert before["stats"] == {
        "pages": 0,
        "records": 0,
        "errors": 0,
        "bytes": 0,
        "accepted": 0,
        "rejected": 0,
        "duplicates": 0,
        "storedBytes": 0,
    }
    big = 3 * 2**31
    async with system_caller(gql.platform) as system:
        await system.succeed(run, errors=2)
        await system.stream_stats(run, org, **_stats(stored_bytes=big))
    after = await _run_stats(gql, owner, run)
    assert after["stats"] == {
        "pages": 1,
        "records": 10,
        "errors": 5,
        "bytes": 100,
        "accepted": 7,
        "rejected": 3,
        "duplicates": 2,
        "storedBytes": big,
    }
    assert after["datasetReadyAt"] is not None
    assert after["datasetReadyAt"] >= after["finishedAt"]
