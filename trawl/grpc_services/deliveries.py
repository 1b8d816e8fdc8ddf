"""The delivery calls of RunsService: proto ⇄ DeliveriesService, nothing else. Mixed into
RunsServicer (runs.py)."""

from __future__ import annotations

import grpc

from trawl.domain.deliveries.models import Delivery, DeliveryState
from trawl.domain.deliveries.service import AttemptRecord, DeliveriesService
from trawl.domain.errors import InvalidInput
from trawl.grpc_services.base import ServicerBase, timestamp
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb

STATE_TO_PB: dict[DeliveryState, pb.DeliveryState] = {
    DeliveryState.PENDING: pb.DELIVERY_STATE_PENDING,
    DeliveryState.DELIVERING: pb.DELIVERY_STATE_DELIVERING,
    DeliveryState.DELIVERED: pb.DELIVERY_STATE_DELIVERED,
    DeliveryState.FAILED: pb.DELIVERY_STATE_FAILED,
}
PB_TO_STATE: dict[int, DeliveryState] = {int(v): k for k, v in STATE_TO_PB.items()}


def delivery_pb(row: Delivery) -> pb.Delivery:
    return pb.Delivery(
        id=row.id,
        run_id=row.run_id,
        destination_id=row.destination_id,
        medium=row.medium,
        state=STATE_TO_PB[DeliveryState(row.state)],
        attempts=row.attempts,
        last_error=row.last_error or "",
        delivered_at=timestamp(row.delivered_at),
        location=row.location or "",
        updated_at=timestamp(row.updated_at),
    )


class DeliveryRpcs(ServicerBase):
    async def ListRunDeliveries(
        self, request: pb.ListRunDeliveriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRunDeliveriesResponse:
        async with self.unit() as (session, actor):
            rows = await DeliveriesService(session, self.settings).list_for_run(
                actor, request.run_id
            )
            return pb.ListRunDeliveriesResponse(deliveries=[delivery_pb(r) for r in rows])

    async def Redeliver(
        self, request: pb.RedeliverRequest, context: grpc.aio.ServicerContext
    ) -> pb.Delivery:
        async with self.unit() as (session, actor):
            row = await DeliveriesService(session, self.settings).redeliver(
                actor, request.run_id, request.destination_id
            )
            return delivery_pb(row)

    async def RecordDeliveryAttempt(
        self, request: pb.RecordDeliveryAttemptRequest, context: grpc.aio.ServicerContext
    ) -> pb.Delivery:
        if request.state not in PB_TO_STATE:
            raise InvalidInput("state", "a delivery state is required")
        record = AttemptRecord(
            run_id=request.run_id,
            destination_id=request.destination_id,
            medium=request.medium,
            state=PB_TO_STATE[request.state],
            attempt=request.attempt,
            error=request.error,
            location=request.location,
        )
        async with self.system_unit() as (session, actor):
            row = await DeliveriesService(session, self.settings).record(actor, record)
            return delivery_pb(row)
