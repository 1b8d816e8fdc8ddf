"""Reports mutations: create, update (schedule included), archive and delete a report."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from trawl.graphql.context import Context
from trawl.graphql.errors import UserError
from trawl.graphql.mutation import payload_or_errors
from trawl.graphql.relay import raw_id
from trawl.graphql.reports.destination_mutations import DestinationsMutation
from trawl.graphql.reports.documents import object_text, optional_object_text
from trawl.graphql.reports.types import Report
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb


@strawberry.input
class RetryPolicyInput:
    max_attempts: int = strawberry.field(description="Attempts in all, the first included.")
    backoff_seconds: int = 0

    def to_pb(self) -> pb.RetryPolicy:
        return pb.RetryPolicy(max_attempts=self.max_attempts, backoff_seconds=self.backoff_seconds)


@strawberry.input
class ScheduleInput:
    cron: str = strawberry.field(description="Five-field cron expression.")
    timezone: str = strawberry.field(default="UTC", description="IANA time zone of the cron.")
    paused: bool = False

    def to_pb(self) -> pb.ScheduleInput:
        return pb.ScheduleInput(cron=self.cron, timezone=self.timezone, paused=self.paused)


@strawberry.input
class CreateReportInput:
    project_id: strawberry.ID
    name: str
    service_code: str
    parameters: JSON = strawberry.field(description="Checked against the service code's schema.")
    description: str = ""
    record_schema: JSON | None = strawberry.field(
        default=None, description="Omitted: the service code's record schema."
    )
    timeout_seconds: int | None = strawberry.field(
        default=None, description="Omitted: the service code's default."
    )
    retry: RetryPolicyInput | None = strawberry.field(
        default=None, description="Omitted: one attempt."
    )
    delivery: JSON | None = None
    schedule: ScheduleInput | None = strawberry.field(
        default=None, description="Omitted: runs only when triggered."
    )
    record_key_fields: list[str] = strawberry.field(
        default_factory=list,
        description="Record fields whose values identify a record; empty: the whole record.",
    )


@strawberry.input(description="Omitted fields stay as they are.")
class UpdateReportInput:
    id: strawberry.ID
    name: str | None = None
    description: str | None = None
    service_code: str | None = None
    parameters: JSON | None = None
    record_schema: JSON | None = None
    timeout_seconds: int | None = None
    retry: RetryPolicyInput | None = None
    delivery: JSON | None = None
    schedule: ScheduleInput | None = strawberry.field(
        default=None, description="Sets the schedule; `paused` pauses or resumes it."
    )
    clear_schedule: bool = strawberry.field(default=False, description="Removes the schedule.")
    record_key_fields: list[str] | None = strawberry.field(
        default=None, description="Replaces the key fields; [] clears them."
    )


@strawberry.input
class ArchiveReportInput:
    id: strawberry.ID


@strawberry.input
class DeleteReportInput:
    id: strawberry.ID


@strawberry.type
class ReportPayload:
    report: Report | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteReportPayload:
    deleted_report_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _create_request(input: CreateReportInput) -> pb.CreateReportRequest:
    request = pb.CreateReportRequest(
        project_id=raw_id(input.project_id, "Project", "projectId"),
        name=input.name,
        description=input.description,
        service_code=input.service_code,
        parameters_json=object_text("parameters", input.parameters),
        record_schema_json=optional_object_text("recordSchema", input.record_schema),
        delivery_json=optional_object_text("delivery", input.delivery),
    )
    if input.timeout_seconds is not None:
        request.timeout_seconds = input.timeout_seconds
    if input.retry is not None:
        request.retry.CopyFrom(input.retry.to_pb())
    if input.schedule is not None:
        request.schedule.CopyFrom(input.schedule.to_pb())
    request.record_key_fields.extend(input.record_key_fields)
    return request


def _update_request(input: UpdateReportInput) -> pb.UpdateReportRequest:
    request = pb.UpdateReportRequest(id=raw_id(input.id, "Report"))
    for name in ("name", "description", "service_code", "timeout_seconds"):
        value = getattr(input, name)
        if value is not None:
            setattr(request, name, value)
    if input.parameters is not None:
        request.parameters_json = object_text("parameters", input.parameters)
    if input.record_schema is not None:
        request.record_schema_json = object_text("recordSchema", input.record_schema)
    if input.delivery is not None:
        request.delivery_json = object_text("delivery", input.delivery)
    if input.retry is not None:
        request.retry.CopyFrom(input.retry.to_pb())
    if input.schedule is not None:
        request.schedule.CopyFrom(input.schedule.to_pb())
    request.clear_schedule = input.clear_schedule
    if input.record_key_fields is not None:
        request.set_record_key_fields = True
        request.record_key_fields.extend(input.record_key_fields)
    return request


def _report_payload(ctx: Context, report: pb.Report) -> ReportPayload:
    ctx.loaders.report_by_id.prime(report.id, report)
    return ReportPayload(report=Report.from_pb(report))


async def _create(ctx: Context, input: CreateReportInput) -> ReportPayload:
    reports = ctx.clients.reports
    request = _create_request(input)
    return _report_payload(ctx, await ctx.call(reports, reports.stub.CreateReport, request))


async def _update(ctx: Context, input: UpdateReportInput) -> ReportPayload:
    reports = ctx.clients.reports
    request = _update_request(input)
    return _report_payload(ctx, await ctx.call(reports, reports.stub.UpdateReport, request))


async def _archive(ctx: Context, input: ArchiveReportInput) -> ReportPayload:
    reports = ctx.clients.reports
    request = pb.ArchiveReportRequest(id=raw_id(input.id, "Report"))
    return _report_payload(ctx, await ctx.call(reports, reports.stub.ArchiveReport, request))


async def _delete(ctx: Context, input: DeleteReportInput) -> DeleteReportPayload:
    reports = ctx.clients.reports
    request = pb.DeleteReportRequest(id=raw_id(input.id, "Report"))
    await ctx.call(reports, reports.stub.DeleteReport, request)
    return DeleteReportPayload(deleted_report_id=input.id)


@strawberry.type
class ReportsMutation(DestinationsMutation):
    @strawberry.mutation
    async def create_report(
        self, info: strawberry.Info[Context, None], input: CreateReportInput
    ) -> ReportPayload:
        return await payload_or_errors(ReportPayload, _create(info.context, input))

    @strawberry.mutation
    async def update_report(
        self, info: strawberry.Info[Context, None], input: UpdateReportInput
    ) -> ReportPayload:
        return await payload_or_errors(ReportPayload, _update(info.context, input))

    @strawberry.mutation(description="Stops the schedule and new runs; the history stays.")
    async def archive_report(
        self, info: strawberry.Info[Context, None], input: ArchiveReportInput
    ) -> ReportPayload:
        return await payload_or_errors(ReportPayload, _archive(info.context, input))

    @strawberry.mutation(description="Deletes the report for good.")
    async def delete_report(
        self, info: strawberry.Info[Context, None], input: DeleteReportInput
    ) -> DeleteReportPayload:
        return await payload_or_errors(DeleteReportPayload, _delete(info.context, input))
