"""The Lambda entry point run as AWS runs it: the Runtime Interface Emulator starts
`python -m awslambdaric trawl.workflows.lambda_entry.handler` with the TRAWL_* environment
of a deployed function, and each test invokes it over the Lambda Invoke API with events as
EventBridge delivers them to a target. The events are real: the platform writes them to its
outbox, the relay publishes them to the bus (moto), and the bus's rule hands them to a queue
that the test reads instead of the poller. The platform's worker runs the workflows the
Lambda starts; nothing else consumes the events, and its reconciler is kept out of the way."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.e2e.conftest import e2e_settings
from tests.support.graphql import (
    GraphQLClient,
    Person,
    new_org,
    new_person,
    new_project,
    new_report,
    trigger_run,
)
from tests.support.lambda_rie import LambdaFunction, lambda_environment, rie_binary
from tests.support.moto import MotoServer
from tests.support.platform import RunningPlatform
from tests.support.runs import get_run, raw_id, wait_for_run
from tests.support.temporal import TemporalDevServer
from trawl.embedded import EmbeddedPlatform
from trawl.events.audit import AuditEntry, AuditLog
from trawl.events.aws import aws_client
from trawl.events.bus import ensure_event_routing
from trawl.events.relay import OutboxRelay
from trawl.tenants.issuer import LocalIssuer
from trawl.workflows.inputs import RUN_WORKFLOW, run_workflow_id

pytestmark = pytest.mark.e2e

HANDLER = "trawl.workflows.lambda_entry.handler"
# What EventBridge hands a Lambda (or any) target: the event, with `detail` an object.
EVENTBRIDGE_KEYS = {
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
}
# moto's account; its SQS delivery leaves `account` out of the event (AWS's does not).
ACCOUNT = "123456789012"


@dataclass
class LambdaRig:
    platform: RunningPlatform
    function: LambdaFunction
    temporal: Client
    audit: AuditLog
    relay: OutboxRelay
    queue_url: str
    sqs: Any
    delivered: list[dict[str, Any]] = field(default_factory=list)

    async def delivered_event(
        self, wanted: Callable[[dict[str, Any]], bool], within_seconds: float = 30.0
    ) -> dict[str, Any]:
        """Publishes the outbox and returns the first event the bus delivered that matches,
        in the form EventBridge gives a Lambda target."""
        deadline = time.monotonic() + within_seconds
        while True:
            for event in self.delivered:
                if wanted(event):
                    return event
            assert time.monotonic() < deadline, "the bus never delivered the event"
            await self.relay.publish_pending()
            reply = await asyncio.to_thread(
                self.sqs.receive_message,
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
            )
            for message in reply.get("Messages") or []:
                delivered = json.loads(message["Body"])
                assert set(delivered) | {"account"} == EVENTBRIDGE_KEYS, delivered
                self.delivered.append({"account": ACCOUNT, **delivered})
                await asyncio.to_thread(
                    self.sqs.delete_message,
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                )

    async def audited(self, organization_id: str) -> list[AuditEntry]:
        return (await self.audit.list(organization_id, 100)).entries


@pytest.fixture(scope="module")
async def rig(
    moto_server: MotoServer,
    temporal_server: TemporalDevServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LambdaRig]:
    rie = await asyncio.to_thread(rie_binary)
    data_dir = tmp_path_factory.mktemp("lambda-platform")
    settings = e2e_settings(data_dir, moto_server.endpoint, temporal_server.address)
    # The reconciler would start QUEUED runs by itself; here only the Lambda may.
    settings = settings.model_copy(
        update={"reconcile_after_seconds": 3600, "reconcile_interval_seconds": 3600.0}
    )
    # Events are written to the outbox but not consumed by the platform: the Lambda does.
    platform = EmbeddedPlatform(settings, with_events=False, with_worker=True)
    await platform.start()
    running = RunningPlatform(
        settings=settings, platform=platform, issuer=LocalIssuer(settings), backend="sqlite"
    )
    assert platform.db is not None
    queue_url = await ensure_event_routing(settings)
    audit = AuditLog(settings)
    await audit.ensure_table()  # provisioned with the function in production
    function_dir = tmp_path_factory.mktemp("lambda-function")
    function = LambdaFunction(
        rie, HANDLER, lambda_environment(settings, function_dir), function_dir / "rie.log"
    )
    await asyncio.to_thread(function.start)
    try:
        yield LambdaRig(
            platform=running,
            function=function,
            temporal=await Client.connect(temporal_server.address),
            audit=audit,
            relay=OutboxRelay(platform.db, settings),
            queue_url=queue_url,
            sqs=aws_client(settings, "sqs"),
        )
    finally:
        await asyncio.to_thread(function.stop)
        await platform.stop()


@pytest.fixture
async def gql(rig: LambdaRig) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield GraphQLClient(rig.platform, http)


async def _queued_run(gql: GraphQLClient) -> tuple[Person, str, str]:
    """(owner, raw organization id, global run id) of a run triggered through GraphQL."""
    owner = await new_person(gql, "lambda")
    org = await new_org(gql, owner)
    report = await new_report(gql, owner, await new_project(gql, owner, org))
    return owner, raw_id(org), await trigger_run(gql, owner, report["id"])


def _run_requested(run_id: str) -> Callable[[dict[str, Any]], bool]:
    def wanted(event: dict[str, Any]) -> bool:
        detail = event.get("detail") or {}
        return bool(
            event.get("detail-type") == "RunRequested"
            and detail.get("data", {}).get("runId") == raw_id(run_id)
        )

    return wanted


async def _workflow_exists(temporal: Client, workflow_id: str) -> bool:
    try:
        await temporal.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        assert error.status == RPCStatusCode.NOT_FOUND, error
        return False
    return True


async def _executions(temporal: Client, workflow_id: str, at_least: int) -> list[str]:
    """Run ids of every execution with this workflow id (visibility lags a little)."""
    deadline = time.monotonic() + 15
    while True:
        found = [
            execution.run_id
            async for execution in temporal.list_workflows(f"WorkflowId = '{workflow_id}'")
        ]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def _logged(function: LambdaFunction, text: str) -> int:
    """How often the function's log holds `text`, waiting briefly for it to appear."""
    deadline = time.monotonic() + 5
    while True:
        count = function.log().count(text)
        if count or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.05)


async def test_run_requested_event_starts_the_run_once_and_is_audited(
    rig: LambdaRig, gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    owner, org, run_id = await _queued_run(gql)
    event = await rig.delivered_event(_run_requested(run_id))
    assert set(event) == EVENTBRIDGE_KEYS
    assert event["source"] == rig.platform.settings.event_source
    assert isinstance(event["detail"], dict)
    event_id = event["detail"]["eventId"]
    workflow_id = run_workflow_id(raw_id(run_id))
    assert not await _workflow_exists(rig.temporal, workflow_id)

    answer = await rig.function.invoke(http, event)
    assert answer == {"eventId": event_id, "type": "RunRequested", "status": "handled"}
    description = await rig.temporal.get_workflow_handle(workflow_id).describe()
    assert description.workflow_type == RUN_WORKFLOW
    assert description.task_queue == rig.platform.settings.temporal_task_queue

    # EventBridge delivers at least once: the same event again changes nothing.
    again = await rig.function.invoke(http, event)
    assert again == answer
    assert await _logged(rig.function, f"workflow=duplicate type={RUN_WORKFLOW} id={workflow_id}")

    run = await wait_for_run(gql, owner, run_id)
    assert run["state"] == "SUCCEEDED", run
    assert [(a["attempt"], a["state"]) for a in run["attempts"]] == [(1, "SUCCEEDED")]
    assert await _executions(rig.temporal, workflow_id, at_least=1) == [description.run_id]

    entries = [e for e in await rig.audited(org) if e.event_id == event_id]
    assert [(e.type, e.data["runId"], e.actor_kind) for e in entries] == [
        ("RunRequested", raw_id(run_id), "user")
    ]


async def test_malformed_events_get_a_lambda_error_naming_the_fault_and_start_nothing(
    rig: LambdaRig, gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    owner, org, run_id = await _queued_run(gql)
    event = await rig.delivered_event(_run_requested(run_id))
    event_id = event["detail"]["eventId"]

    def broken(**changes: Any) -> dict[str, Any]:
        variant = copy.deepcopy(event)
        for name, value in changes.items():
            if value is None:
                variant["detail"].pop(name)
            else:
                variant["detail"][name] = value
        return variant

    without_detail = {k: v for k, v in event.items() if k != "detail"}
    cases: list[tuple[Any, str]] = [
        (without_detail, "the EventBridge event has no 'detail' (its keys: account, "),
        ({**event, "detail": ["RunRequested"]}, "the event's 'detail' must be an object, not list"),
        ({**event, "detail": "{not json"}, "the event's 'detail' is not valid JSON: "),
        (broken(eventId=None), "detail has no 'eventId' (a non-empty string is required)"),
        (broken(type=""), "detail has no 'type'"),
        (broken(occurredAt="yesterday"), "detail.occurredAt is not an ISO 8601 time: 'yesterday'"),
        (broken(occurredAt="2026-01-02T03:04:05"), "detail.occurredAt has no UTC offset"),
        (broken(data=[1, 2]), "detail.data must be an object, not list"),
        ([event], "expected an EventBridge event (a JSON object), got list"),
    ]
    for payload, message in cases:
        answer = await rig.function.invoke(http, payload)
        assert answer["errorType"] == "MalformedEventError", answer
        assert message in answer["errorMessage"], (message, answer)
        assert answer["requestId"]

    # What the runtime itself rejects never reaches the handler.
    garbage = await rig.function.invoke(http, b"{not json")
    assert garbage["errorType"] == "Runtime.UnmarshalError", garbage

    workflow_id = run_workflow_id(raw_id(run_id))
    assert not await _workflow_exists(rig.temporal, workflow_id)
    assert (await get_run(gql, owner, run_id))["state"] == "QUEUED"
    assert event_id not in {e.event_id for e in await rig.audited(org)}

    # The runtime survived every error: the intact event still starts the run.
    answer = await rig.function.invoke(http, event)
    assert answer == {"eventId": event_id, "type": "RunRequested", "status": "handled"}
    assert (await wait_for_run(gql, owner, run_id))["state"] == "SUCCEEDED"


async def test_invocations_reuse_the_warm_runtime_and_its_clients(
    rig: LambdaRig, gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    owner = await new_person(gql, "lambda")
    org = await new_org(gql, owner)
    await new_project(gql, owner, org)
    created = []
    for kind in ("OrganizationCreated", "ProjectCreated"):

        def wanted(event: dict[str, Any], kind: str = kind) -> bool:
            detail = event.get("detail") or {}
            return event.get("detail-type") == kind and detail.get("organizationId") == raw_id(org)

        created.append(await rig.delivered_event(wanted))

    pids = []
    for event in created:
        answer = await rig.function.invoke(http, event)
        assert answer["status"] == "handled", answer
        pids.append(rig.function.runtime_pids())
    assert pids[0] == pids[1] and len(pids[0]) == 1, pids

    # Whatever ran before in this module, one runtime process built the handler once.
    assert await _logged(rig.function, "lambda=cold_start") == 1
    assert rig.function.log().count("Init Duration") == 1
    audited = {e.event_id for e in await rig.audited(raw_id(org))}
    assert {e["detail"]["eventId"] for e in created} <= audited
