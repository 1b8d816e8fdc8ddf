"""Delivery destination mutations: replace a report's destinations, test one now.

Secrets come in `secrets` (write-only, never shown back); an edited destination (`id` given)
keeps the stored secrets its input does not name, so non-secret fields are edited without
re-sending passwords. A `null` secret removes it."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from trawl.graphql.context import Context
from trawl.graphql.datasets.mutations import ExportCompression, ExportFormat
from trawl.graphql.errors import UserError, user_input_error
from trawl.graphql.mutation import payload_or_errors
from trawl.graphql.relay import raw_id
from trawl.graphql.reports.destination_types import DeliveryMedium, Destination
from trawl.graphql.reports.documents import optional_object_text
from trawl.graphql.reports.types import Report
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb


@strawberry.input
class DestinationInput:
    medium: DeliveryMedium
    format: ExportFormat
    compression: ExportCompression = ExportCompression.NONE
    file_name_template: str | None = strawberry.field(
        default=None,
        description="Omitted: {report_name}-{run_date}-{run_id}.{format_ext}. Placeholders: "
        "{report_name} (slugified) {run_id} {run_date} (YYYY-MM-DD) {run_time} (HHMMSS) "
        "{format_ext} (csv.gz…).",
    )
    config: JSON | None = strawberry.field(
        default=None, description="The medium's plain settings (host, port, bucket, url…)."
    )
    secrets: JSON | None = strawberry.field(
        default=None,
        description="Write-only: {name: value} (password, privateKey, privateKeyPassphrase, "
        "secretAccessKey, sessionToken, secret); null removes one. Not named: kept.",
    )
    id: strawberry.ID | None = strawberry.field(
        default=None, description="Set to edit that destination; omitted: a new one."
    )


@strawberry.input
class SetReportDestinationsInput:
    report_id: strawberry.ID
    destinations: list[DestinationInput] = strawberry.field(
        description="The whole list (at most 10): destinations left out are deleted."
    )


@strawberry.input
class TestDestinationInput:
    report_id: strawberry.ID
    destination_id: strawberry.ID


@strawberry.type
class SetReportDestinationsPayload:
    destinations: list[Destination] | None = None
    report_raw_id: strawberry.Private[str | None] = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @strawberry.field
    async def report(self, info: strawberry.Info[Context, None]) -> Report | None:
        if self.report_raw_id is None:
            return None
        found = await info.context.loaders.report_by_id.load(self.report_raw_id)
        return Report.from_pb(found) if found else None


@strawberry.type(description="The result of connecting to a destination now.")
class TestDestinationPayload:
    ok: bool = strawberry.field(default=False, description="Logged in and could write.")
    error: str | None = strawberry.field(default=None, description="What failed.")
    retryable: bool | None = strawberry.field(
        default=None, description="Trying later may help (network, 5xx); false: fix settings."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


def _secrets(field: str, value: JSON | None) -> tuple[dict[str, str], list[str]]:
    """(new values, names to clear) from `{name: value | null}`."""
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        raise user_input_error(field, "must be a JSON object of secret names to values")
    given: dict[str, str] = {}
    cleared: list[str] = []
    for name, secret in value.items():
        if secret is None:
            cleared.append(str(name))
        elif isinstance(secret, str):
            given[str(name)] = secret
        else:
            raise user_input_error(f"{field}.{name}", "must be a string, or null to remove it")
    return given, cleared


def _destination_pb(position: int, given: DestinationInput) -> pb.DestinationInput:
    prefix = f"destinations.{position}"
    secrets, cleared = _secrets(f"{prefix}.secrets", given.secrets)
    return pb.DestinationInput(
        id=raw_id(given.id, "Destination", f"{prefix}.id") if given.id else "",
        medium=given.medium.value,
        format=given.format.value,
        compression=given.compression.value,
        file_name_template=given.file_name_template or "",
        config_json=optional_object_text(f"{prefix}.config", given.config),
        secrets=secrets,
        clear_secrets=cleared,
    )


async def _set(ctx: Context, input: SetReportDestinationsInput) -> SetReportDestinationsPayload:
    report_id = raw_id(input.report_id, "Report", "reportId")
    request = pb.SetReportDestinationsRequest(
        report_id=report_id,
        destinations=[_destination_pb(i, d) for i, d in enumerate(input.destinations)],
    )
    reports = ctx.clients.reports
    reply = await ctx.call(reports, reports.stub.SetReportDestinations, request)
    ctx.loaders.destinations_by_report.prime(report_id, list(reply.destinations), force=True)
    return SetReportDestinationsPayload(
        destinations=[Destination.from_pb(d) for d in reply.destinations],
        report_raw_id=report_id,
    )


async def _test(ctx: Context, input: TestDestinationInput) -> TestDestinationPayload:
    request = pb.TestDestinationRequest(
        report_id=raw_id(input.report_id, "Report", "reportId"),
        destination_id=raw_id(input.destination_id, "Destination", "destinationId"),
    )
    reports = ctx.clients.reports
    reply = await ctx.call(reports, reports.stub.TestDestination, request)
    if reply.ok:
        return TestDestinationPayload(ok=True)
    return TestDestinationPayload(ok=False, error=reply.error, retryable=reply.retryable)


@strawberry.type
class DestinationsMutation:
    @strawberry.mutation(description="Replaces a report's delivery destinations.")
    async def set_report_destinations(
        self, info: strawberry.Info[Context, None], input: SetReportDestinationsInput
    ) -> SetReportDestinationsPayload:
        return await payload_or_errors(SetReportDestinationsPayload, _set(info.context, input))

    @strawberry.mutation(
        description="Connects to a destination now with its stored settings and secrets "
        "(logs in and writes a small probe file, or posts a test webhook)."
    )
    async def test_destination(
        self, info: strawberry.Info[Context, None], input: TestDestinationInput
    ) -> TestDestinationPayload:
        return await payload_or_errors(TestDestinationPayload, _test(info.context, input))
