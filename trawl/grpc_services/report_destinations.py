"""The delivery-destination calls of ReportsService: proto ⇄ DestinationsService, nothing else.
Mixed into ReportsServicer (reports.py)."""

from __future__ import annotations

import grpc

from trawl.config import Settings
from trawl.domain.db import Database
from trawl.domain.reports.destinations_service import (
    DestinationFields,
    DestinationsService,
    run_check,
)
from trawl.domain.reports.models import ReportDestination
from trawl.domain.secrets import SecretBox
from trawl.grpc_services.base import ServicerBase, timestamp
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.grpc_services.runs import run_pb


def destination_pb(row: ReportDestination) -> pb.ReportDestination:
    """Never carries secret values: only the names of those set."""
    return pb.ReportDestination(
        id=row.id,
        report_id=row.report_id,
        medium=row.medium,
        format=row.format,
        compression=row.compression,
        file_name_template=row.file_name_template,
        config_json=row.config,
        secrets_set=row.secrets_set,
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
    )


def _fields(given: pb.DestinationInput) -> DestinationFields:
    secrets: dict[str, str | None] = dict(given.secrets)
    secrets.update({name: None for name in given.clear_secrets})
    return DestinationFields(
        id=given.id or None,
        medium=given.medium,
        format=given.format,
        compression=given.compression,
        file_name_template=given.file_name_template,
        config_json=given.config_json,
        secrets=secrets,
    )


class DestinationRpcs(ServicerBase):
    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(db, settings)
        # Built at start: a malformed key fails the service's start, not a user's call.
        self.secret_box = SecretBox.from_settings(settings)

    async def SetReportDestinations(
        self, request: pb.SetReportDestinationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReportDestinationsResponse:
        async with self.unit() as (session, actor):
            rows = await DestinationsService(session, self.secret_box).set_destinations(
                actor, request.report_id, [_fields(d) for d in request.destinations]
            )
            return pb.ListReportDestinationsResponse(destinations=[destination_pb(r) for r in rows])

    async def ListReportDestinations(
        self, request: pb.ListReportDestinationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReportDestinationsResponse:
        async with self.unit() as (session, actor):
            rows = await DestinationsService(session, self.secret_box).list_destinations(
                actor, list(request.report_ids)
            )
            return pb.ListReportDestinationsResponse(destinations=[destination_pb(r) for r in rows])

    async def TestDestination(
        self, request: pb.TestDestinationRequest, context: grpc.aio.ServicerContext
    ) -> pb.TestDestinationResponse:
        async with self.unit() as (session, actor):
            destination = await DestinationsService(session, self.secret_box).destination_to_check(
                actor, request.report_id, request.destination_id, self.settings
            )
        outcome = await run_check(destination, self.settings.delivery_check_timeout_seconds)
        return pb.TestDestinationResponse(
            ok=outcome.ok, error=outcome.error or "", retryable=bool(outcome.retryable)
        )

    async def GetDeliveryPlan(
        self, request: pb.GetDeliveryPlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeliveryPlan:
        async with self.system_unit() as (session, actor):
            plan = await DestinationsService(session, self.secret_box).delivery_plan(
                actor, self.settings, request.run_id
            )
            return pb.DeliveryPlan(
                run=run_pb(plan.run),
                report_name=plan.report.name,
                destinations=[
                    pb.PlannedDestination(
                        destination=destination_pb(p.destination),
                        secrets=p.secrets,
                        file_name=p.file_name,
                    )
                    for p in plan.destinations
                ],
            )
