"""Runs mutations: trigger, cancel and rerun a run; staff set an organization's run limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from trawl.graphql.context import Context
from trawl.graphql.errors import UserError
from trawl.graphql.mutation import payload_or_errors
from trawl.graphql.relay import raw_id
from trawl.graphql.runs.limits import OrganizationRunLimit
from trawl.graphql.runs.types import Run
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb


@strawberry.input
class TriggerRunInput:
    report_id: strawberry.ID


@strawberry.input
class CancelRunInput:
    run_id: strawberry.ID


@strawberry.input
class RerunInput:
    run_id: strawberry.ID


@strawberry.input
class SetOrganizationRunLimitInput:
    organization_id: strawberry.ID
    max_concurrent_runs: int | None = strawberry.field(
        default=None, description="Null: back to the platform default."
    )


@strawberry.type
class RunPayload:
    run: Run | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrganizationRunLimitPayload:
    run_limit: OrganizationRunLimit | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _run_call(
    ctx: Context, method: Callable[..., Awaitable[pb.Run]], request: object
) -> RunPayload:
    run = await ctx.call(ctx.clients.runs, method, request)
    ctx.loaders.run_by_id.prime(run.id, run)
    return RunPayload(run=Run.from_pb(run))


async def _trigger(ctx: Context, input: TriggerRunInput) -> RunPayload:
    request = pb.TriggerRunRequest(report_id=raw_id(input.report_id, "Report", "reportId"))
    return await _run_call(ctx, ctx.clients.runs.stub.TriggerRun, request)


async def _cancel(ctx: Context, input: CancelRunInput) -> RunPayload:
    request = pb.CancelRunRequest(id=raw_id(input.run_id, "Run", "runId"))
    return await _run_call(ctx, ctx.clients.runs.stub.CancelRun, request)


async def _rerun(ctx: Context, input: RerunInput) -> RunPayload:
    request = pb.RerunRequest(id=raw_id(input.run_id, "Run", "runId"))
    return await _run_call(ctx, ctx.clients.runs.stub.Rerun, request)


async def _set_limit(
    ctx: Context, input: SetOrganizationRunLimitInput
) -> OrganizationRunLimitPayload:
    request = pb.SetOrganizationRunLimitRequest(
        organization_id=raw_id(input.organization_id, "Organization", "organizationId")
    )
    if input.max_concurrent_runs is not None:
        request.max_concurrent_runs = input.max_concurrent_runs
    runs = ctx.clients.runs
    limit = await ctx.call(runs, runs.stub.SetOrganizationRunLimit, request)
    return OrganizationRunLimitPayload(run_limit=OrganizationRunLimit.from_pb(limit))


@strawberry.type
class RunsMutation:
    @strawberry.mutation(description="Queue a run of a report now.")
    async def trigger_run(
        self, info: strawberry.Info[Context, None], input: TriggerRunInput
    ) -> RunPayload:
        return await payload_or_errors(RunPayload, _trigger(info.context, input))

    @strawberry.mutation(description="Cancel a queued or running run.")
    async def cancel_run(
        self, info: strawberry.Info[Context, None], input: CancelRunInput
    ) -> RunPayload:
        return await payload_or_errors(RunPayload, _cancel(info.context, input))

    @strawberry.mutation(description="Run a finished run's report again; the new run links back.")
    async def rerun(self, info: strawberry.Info[Context, None], input: RerunInput) -> RunPayload:
        return await payload_or_errors(RunPayload, _rerun(info.context, input))

    @strawberry.mutation(description="Staff: an organization's concurrent-run limit.")
    async def set_organization_run_limit(
        self, info: strawberry.Info[Context, None], input: SetOrganizationRunLimitInput
    ) -> OrganizationRunLimitPayload:
        return await payload_or_errors(OrganizationRunLimitPayload, _set_limit(info.context, input))
