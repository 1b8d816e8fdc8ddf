"""An organization's concurrent-run limit: `Organization.runLimit` and its type.

Imported by the accounts types, so it imports nothing of them."""

from __future__ import annotations

from typing import Protocol

import strawberry

from trawl.graphql.context import Context
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb


class _HasRawId(Protocol):
    raw_id: str


@strawberry.type(description="How many runs an organization may have active at once.")
class OrganizationRunLimit:
    max_concurrent_runs: int = strawberry.field(description="The limit in force.")
    overridden: bool = strawberry.field(
        description="True when staff set it for this organization, false for the default."
    )
    active_runs: int = strawberry.field(description="Runs queued, starting, running or cancelling.")

    @classmethod
    def from_pb(cls, limit: pb.OrganizationRunLimit) -> OrganizationRunLimit:
        return cls(
            max_concurrent_runs=limit.max_concurrent_runs,
            overridden=limit.overridden,
            active_runs=limit.active_runs,
        )


async def organization_run_limit(
    root: _HasRawId, info: strawberry.Info[Context, None]
) -> OrganizationRunLimit:
    """`Organization.runLimit`."""
    ctx = info.context
    runs = ctx.clients.runs
    reply = await ctx.query(
        runs,
        runs.stub.GetOrganizationRunLimit,
        pb.GetOrganizationRunLimitRequest(organization_id=root.raw_id),
    )
    return OrganizationRunLimit.from_pb(reply)
