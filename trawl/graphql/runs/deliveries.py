"""A run's deliveries (one per destination of its report) and the `redeliver` mutation."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from trawl.graphql.context import Context
from trawl.graphql.errors import UserError
from trawl.graphql.mutation import payload_or_errors
from trawl.graphql.relay import raw_id, to_global_id
from trawl.graphql.reports.destination_types import DeliveryMedium
from trawl.graphql.scalars import to_datetime
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb


@strawberry.enum
class DeliveryState(Enum):
    PENDING = pb.DELIVERY_STATE_PENDING
    DELIVERING = pb.DELIVERY_STATE_DELIVERING
    DELIVERED = pb.DELIVERY_STATE_DELIVERED
    FAILED = pb.DELIVERY_STATE_FAILED


@strawberry.type(description="A run's dataset on its way to one destination of its report.")
class Delivery:
    destination_id: strawberry.ID = strawberry.field(description="The Destination's id.")
    medium: DeliveryMedium
    state: DeliveryState
    attempts: int = strawberry.field(description="Attempts so far (retries included).")
    last_error: str | None = strawberry.field(description="The last attempt's error, if any.")
    delivered_at: datetime | None
    location: str | None = strawberry.field(
        description="Where the file landed (URL, remote path); null until delivered."
    )
    updated_at: datetime | None

    @classmethod
    def from_pb(cls, delivery: pb.Delivery) -> Delivery:
        return cls(
            destination_id=strawberry.ID(to_global_id("Destination", delivery.destination_id)),
            medium=DeliveryMedium(delivery.medium),
            state=DeliveryState(delivery.state),
            attempts=delivery.attempts,
            last_error=delivery.last_error or None,
            delivered_at=to_datetime(delivery, "delivered_at"),
            location=delivery.location or None,
            updated_at=to_datetime(delivery, "updated_at"),
        )


async def list_run_deliveries(ctx: Context, run_id: str) -> list[Delivery]:
    runs = ctx.clients.runs
    reply = await ctx.query(
        runs, runs.stub.ListRunDeliveries, pb.ListRunDeliveriesRequest(run_id=run_id)
    )
    return [Delivery.from_pb(d) for d in reply.deliveries]


@strawberry.input
class RedeliverInput:
    run_id: strawberry.ID
    destination_id: strawberry.ID


@strawberry.type
class RedeliverPayload:
    delivery: Delivery | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _redeliver(ctx: Context, input: RedeliverInput) -> RedeliverPayload:
    request = pb.RedeliverRequest(
        run_id=raw_id(input.run_id, "Run", "runId"),
        destination_id=raw_id(input.destination_id, "Destination", "destinationId"),
    )
    runs = ctx.clients.runs
    delivery = await ctx.call(runs, runs.stub.Redeliver, request)
    return RedeliverPayload(delivery=Delivery.from_pb(delivery))


@strawberry.type
class DeliveriesMutation:
    @strawberry.mutation(
        description="Deliver a succeeded run's dataset to one of its destinations again."
    )
    async def redeliver(
        self, info: strawberry.Info[Context, None], input: RedeliverInput
    ) -> RedeliverPayload:
        return await payload_or_errors(RedeliverPayload, _redeliver(info.context, input))
