"""Runs queries: a run by id, and the run listings of a report and of a project."""

from __future__ import annotations

from typing import Protocol

import strawberry

from trawl.graphql.context import Context
from trawl.graphql.errors import UserInputError, graphql_error
from trawl.graphql.relay import Connection, build_connection, decode_cursor, raw_id
from trawl.graphql.runs.types import Run, RunState
from trawl.grpc_services.gen.common.v1 import common_pb2
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb


class _HasRawId(Protocol):
    raw_id: str


async def runs_connection(
    ctx: Context,
    *,
    first: int | None,
    after: str | None,
    states: list[RunState] | None,
    report_id: str = "",
    project_id: str = "",
) -> Connection[Run]:
    """One page of runs of a report or of a project, newest first."""
    runs = ctx.clients.runs
    reply = await ctx.query(
        runs,
        runs.stub.ListRuns,
        pb.ListRunsRequest(
            report_id=report_id,
            project_id=project_id,
            page=common_pb2.PageRequest(first=ctx.page_args(first), after=decode_cursor(after)),
            states=[s.value for s in states or ()],
        ),
    )
    for run in reply.runs:
        ctx.loaders.run_by_id.prime(run.id, run)
    return build_connection(
        [(r.id, Run.from_pb(r)) for r in reply.runs],
        has_next=reply.page_info.has_next_page,
        total=reply.page_info.total_count,
    )


async def report_runs_connection(
    ctx: Context,
    report_id: str,
    *,
    first: int | None,
    after: str | None,
    states: list[RunState] | None,
) -> Connection[Run]:
    """`Report.runs`: through a DataLoader, so a listing of reports with their runs costs one
    call for all of them. A report the caller may not read has no runs here (it was reached
    through a readable parent, so this only happens if it was deleted meanwhile)."""
    page = await ctx.loaders.runs_by_report.load(
        (
            report_id,
            ctx.page_args(first),
            decode_cursor(after),
            tuple(s.value for s in states or ()),
        )
    )
    if page is None:
        return build_connection([], has_next=False, total=0)
    for run in page.runs:
        ctx.loaders.run_by_id.prime(run.id, run)
    return build_connection(
        [(r.id, Run.from_pb(r)) for r in page.runs],
        has_next=page.page_info.has_next_page,
        total=page.page_info.total_count,
    )


async def project_runs(
    root: _HasRawId,
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    states: list[RunState] | None = None,
) -> Connection[Run]:
    """`Project.runs`: every run of the project's reports, newest first."""
    return await runs_connection(
        info.context, first=first, after=after, states=states, project_id=root.raw_id
    )


@strawberry.type
class RunsQuery:
    @strawberry.field(description="A run the caller may read.")
    async def run(self, info: strawberry.Info[Context, None], id: strawberry.ID) -> Run | None:
        try:
            run_id = raw_id(id, "Run")
        except UserInputError as error:
            raise graphql_error(error) from None
        found = await info.context.loaders.run_by_id.load(run_id)
        return Run.from_pb(found) if found else None
