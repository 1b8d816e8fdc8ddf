"""Deliveries as the workflow records them and users see them: system-only attempt records
with their DeliverySucceeded/DeliveryFailed events, `run.deliveries`, and `redeliver` (writers
only, succeeded runs and the report's own destinations only) with its RedeliveryRequested."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from tests.support.graphql import (
    GraphQLClient,
    Person,
    add_to_project,
    join_org,
    new_owner_with_project,
    new_person,
    new_report,
    trigger_run,
)
from tests.support.system_calls import outbox_events, system_caller
from trawl.graphql.relay import from_global_id, to_global_id
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb

DELIVERIES = """query($id: ID!) { run(id: $id) { deliveries {
  destinationId medium state attempts lastError deliveredAt location } } }"""
DELIVERY = "delivery { destinationId state attempts lastError }"


def _raw(global_id: str) -> str:
    return from_global_id(global_id)[1]


async def _run_with_destination(gql: GraphQLClient) -> tuple[Person, str, str, str, str]:
    """(owner, org id, project id, run global id, destination global id)."""
    owner, org, project = await new_owner_with_project(gql)
    report = await new_report(gql, owner, project)
    payload = await gql.mutate(
        "setReportDestinations",
        {
            "reportId": report["id"],
            "destinations": [
                {
                    "medium": "WEBHOOK",
                    "format": "JSON",
                    "config": {"url": "https://hooks.example.com/x"},
                    "secrets": {"secret": "whsec_integration"},
                }
            ],
        },
        "destinations { id }",
        token=owner.token,
    )
    assert payload["errors"] == [], payload
    run_id = await trigger_run(gql, owner, report["id"])
    return owner, org, project, run_id, payload["destinations"][0]["id"]


async def _deliveries(gql: GraphQLClient, person: Person, run_id: str) -> list[dict[str, Any]]:
    result = await gql.execute(DELIVERIES, {"id": run_id}, token=person.token)
    assert not result.errors, result.errors
    found: list[dict[str, Any]] = result.data["run"]["deliveries"]
    return found


async def _redeliver(
    gql: GraphQLClient, person: Person, run_id: str, destination_id: str
) -> dict[str, Any]:
    return await gql.mutate(
        "redeliver",
        {"runId": run_id, "destinationId": destination_id},
        DELIVERY,
        token=person.token,
    )


async def test_attempts_are_recorded_by_the_system_and_shown_on_the_run(
    gql: GraphQLClient,
) -> None:
    owner, _, _, run_id, dest_id = await _run_with_destination(gql)
    run, dest = _raw(run_id), _raw(dest_id)
    async with system_caller(gql.platform) as system:
        await system.succeed(run)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await system.record_delivery(
                run, dest, pb.DELIVERY_STATE_DELIVERING, token=owner.token, medium="webhook"
            )
        assert refused.value.code() in (
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.UNAUTHENTICATED,
        )
        await system.record_delivery(run, dest, pb.DELIVERY_STATE_PENDING, medium="webhook")
        await system.record_delivery(
            run, dest, pb.DELIVERY_STATE_DELIVERING, medium="webhook", attempt=1
        )
        await system.record_delivery(
            run, dest, pb.DELIVERY_STATE_DELIVERING, medium="webhook", attempt=1, error="503"
        )
        await system.record_delivery(
            run, dest, pb.DELIVERY_STATE_DELIVERING, medium="webhook", attempt=2
        )
        shown = await _deliveries(gql, owner, run_id)
        assert [(d["state"], d["attempts"], d["lastError"]) for d in shown] == [
            ("DELIVERING", 2, "503")
        ]
        for _ in range(2):  # the workflow's record activity may be retried
            await system.record_delivery(
                run, dest, pb.DELIVERY_STATE_DELIVERED, medium="webhook", location="https://x"
            )

    (delivery,) = await _deliveries(gql, owner, run_id)
    assert delivery["destinationId"] == dest_id and delivery["medium"] == "WEBHOOK"
    assert delivery["state"] == "DELIVERED" and delivery["attempts"] == 2
    assert delivery["lastError"] is None and delivery["deliveredAt"]
    assert delivery["location"] == "https://x"
    (event,) = await outbox_events(gql.platform, "DeliverySucceeded", run)
    assert event["destinationId"] == dest and event["attempts"] == 2
    assert "whsec_integration" not in str(event)


async def test_redeliver_is_for_writers_on_succeeded_runs_and_their_destinations(
    gql: GraphQLClient,
) -> None:
    owner, org, project, run_id, dest_id = await _run_with_destination(gql)
    queued = await _redeliver(gql, owner, run_id, dest_id)
    assert [e["code"] for e in queued["errors"]] == ["PRECONDITION_FAILED"], queued

    run = _raw(run_id)
    async with system_caller(gql.platform) as system:
        await system.succeed(run)
        await system.record_delivery(
            run, _raw(dest_id), pb.DELIVERY_STATE_FAILED, medium="webhook", error="refused"
        )
    assert [e["destinationId"] for e in await outbox_events(gql.platform, "DeliveryFailed", run)]

    viewer = await new_person(gql, "viewer")
    await join_org(gql, owner, org, viewer, "MEMBER")
    await add_to_project(gql, owner, project, viewer, "VIEWER")
    assert len(await _deliveries(gql, viewer, run_id)) == 1
    denied = await gql.execute(
        "mutation($input: RedeliverInput!) { redeliver(input: $input) { errors { code } } }",
        {"input": {"runId": run_id, "destinationId": dest_id}},
        token=viewer.token,
    )
    assert denied.errors or denied.data["redeliver"]["errors"], denied

    unknown = await _redeliver(gql, owner, run_id, to_global_id("Destination", "0" * 26))
    codes = [(e["field"], e["code"]) for e in unknown["errors"]]
    assert codes and codes[0][1] in ("NOT_FOUND", "INVALID_INPUT"), unknown

    again = await _redeliver(gql, owner, run_id, dest_id)
    assert again["errors"] == [], again
    assert again["delivery"] == {
        "destinationId": dest_id,
        "state": "PENDING",
        "attempts": 0,
        "lastError": None,
    }
    (requested,) = await outbox_events(gql.platform, "RedeliveryRequested", run)
    assert requested["destinationId"] == _raw(dest_id) and requested["medium"] == "webhook"
    busy = await _redeliver(gql, owner, run_id, dest_id)
    assert [e["code"] for e in busy["errors"]] == ["PRECONDITION_FAILED"], busy
