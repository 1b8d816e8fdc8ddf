"""Reports queries: the crawler registry, a report by id, and a project's reports."""

from __future__ import annotations

from typing import Protocol

import strawberry

from trawl.graphql.context import Context
from trawl.graphql.errors import UserInputError, graphql_error
from trawl.graphql.relay import Connection, build_connection, decode_cursor, raw_id
from trawl.graphql.reports.types import Report, ReportState, ServiceCode
from trawl.grpc_services.gen.common.v1 import common_pb2
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb


class _HasRawId(Protocol):
    raw_id: str


async def project_reports(
    root: _HasRawId,
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    service_code: str | None = None,
    state: ReportState | None = None,
) -> Connection[Report]:
    """`Project.reports`, optionally only those of one service code or in one state."""
    ctx = info.context
    reports = ctx.clients.reports
    reply = await ctx.query(
        reports,
        reports.stub.ListReports,
        pb.ListReportsRequest(
            project_id=root.raw_id,
            page=common_pb2.PageRequest(first=ctx.page_args(first), after=decode_cursor(after)),
            service_code=service_code or "",
            state=state.value if state else pb.REPORT_STATE_UNSPECIFIED,
        ),
    )
    for report in reply.reports:
        ctx.loaders.report_by_id.prime(report.id, report)
    return build_connection(
        [(r.id, Report.from_pb(r)) for r in reply.reports],
        has_next=reply.page_info.has_next_page,
        total=reply.page_info.total_count,
    )


@strawberry.type
class ReportsQuery:
    @strawberry.field(description="Registered crawlers; retired ones too for staff who ask.")
    async def service_codes(
        self, info: strawberry.Info[Context, None], include_retired: bool = False
    ) -> list[ServiceCode]:
        ctx = info.context
        client = ctx.clients.service_codes
        reply = await ctx.query(
            client,
            client.stub.ListServiceCodes,
            pb.ListServiceCodesRequest(include_retired=include_retired),
        )
        for code in reply.service_codes:
            ctx.loaders.service_code_by_code.prime(code.code, code)
        return [ServiceCode.from_pb(c) for c in reply.service_codes]

    @strawberry.field(description="A registered crawler by its code.")
    async def service_code(
        self, info: strawberry.Info[Context, None], code: str
    ) -> ServiceCode | None:
        found = await info.context.loaders.service_code_by_code.load(code)
        return ServiceCode.from_pb(found) if found else None

    @strawberry.field(description="A report the caller may read.")
    async def report(
        self, info: strawberry.Info[Context, None], id: strawberry.ID
    ) -> Report | None:
        try:
            report_id = raw_id(id, "Report")
        except UserInputError as error:
            raise graphql_error(error) from None
        found = await info.context.loaders.report_by_id.load(report_id)
        return Report.from_pb(found) if found else None
