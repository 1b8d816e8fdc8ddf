"""System-only RunsService calls as platform components make them (a client-credentials
token with the system permission), and a look at the outbox, for tests of run control."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
from sqlalchemy import select

from tests.support.platform import RunningPlatform
from trawl.domain.outbox import OutboxEvent
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.grpc_services.gen.reports.v1 import reports_pb2_grpc


class SystemCaller:
    def __init__(self, platform: RunningPlatform, channel: grpc.aio.Channel) -> None:
        self.platform = platform
        self.runs = reports_pb2_grpc.RunsServiceStub(channel)
        self.reports = reports_pb2_grpc.ReportsServiceStub(channel)
        self.token = platform.issuer.mint(
            subject=platform.settings.system_client_id,
            permissions=[platform.settings.system_permission],
            machine=True,
        )

    def metadata(self, token: str | None = None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {token or self.token}"),)

    async def transition(self, run_id: str, state: int, attempt: int, **fields: Any) -> pb.Run:
        request = pb.TransitionRunRequest(run_id=run_id, state=state, attempt=attempt, **fields)
        reply: pb.Run = await self.runs.TransitionRun(request, metadata=self.metadata())
        return reply

    async def succeed(self, run_id: str, *, errors: int = 0) -> pb.Run:
        """QUEUED → STARTING → RUNNING → SUCCEEDED, as attempt 1."""
        await self.transition(run_id, pb.RUN_STATE_STARTING, 1)
        await self.transition(run_id, pb.RUN_STATE_RUNNING, 1)
        stats = pb.RunStats(pages=1, records=10, errors=errors, bytes=100)
        return await self.transition(run_id, pb.RUN_STATE_SUCCEEDED, 1, stats=stats)

    async def stream_stats(
        self, run_id: str, organization_id: str, *, token: str | None = None, **stats: int
    ) -> pb.Run:
        request = pb.ReportStreamStatsRequest(
            run_id=run_id, organization_id=organization_id, stats=pb.StreamStats(**stats)
        )
        reply: pb.Run = await self.runs.ReportStreamStats(request, metadata=self.metadata(token))
        return reply

    async def record_schema(self, report_id: str, *, token: str | None = None) -> pb.RecordSchema:
        request = pb.GetRecordSchemaRequest(report_id=report_id)
        reply: pb.RecordSchema = await self.runs.GetRecordSchema(
            request, metadata=self.metadata(token)
        )
        return reply

    async def delivery_plan(self, run_id: str, *, token: str | None = None) -> pb.DeliveryPlan:
        request = pb.GetDeliveryPlanRequest(run_id=run_id)
        reply: pb.DeliveryPlan = await self.reports.GetDeliveryPlan(
            request, metadata=self.metadata(token)
        )
        return reply

    async def record_delivery(
        self,
        run_id: str,
        destination_id: str,
        state: int,
        *,
        token: str | None = None,
        **fields: Any,
    ) -> pb.Delivery:
        request = pb.RecordDeliveryAttemptRequest(
            run_id=run_id, destination_id=destination_id, state=state, **fields
        )
        reply: pb.Delivery = await self.runs.RecordDeliveryAttempt(
            request, metadata=self.metadata(token)
        )
        return reply


@asynccontextmanager
async def system_caller(platform: RunningPlatform) -> AsyncIterator[SystemCaller]:
    async with grpc.aio.insecure_channel(platform.grpc_target) as channel:
        yield SystemCaller(platform, channel)


async def outbox_events(platform: RunningPlatform, event_type: str, run_id: str) -> list[Any]:
    """The data of the outbox events of one type about one run, oldest first."""
    db = platform.platform.db
    assert db is not None
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == event_type).order_by(OutboxEvent.id)
        )
        found = [json.loads(row.data) for row in rows]
    return [data for data in found if data.get("runId") == run_id]
