"""ServiceCodesService and ReportsService servicers: proto ⇄ domain calls, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc

from trawl.domain.reports.models import Report, ServiceCode
from trawl.domain.reports.reports_service import (
    ReportFields,
    ReportsService,
    ReportState,
    ScheduleFields,
)
from trawl.domain.reports.schedule import CronSchedule, next_fire_times
from trawl.domain.reports.service_codes import ServiceCodeFields, ServiceCodesService
from trawl.grpc_services.base import ServicerBase, page_info, timestamp
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.grpc_services.gen.reports.v1 import reports_pb2_grpc
from trawl.grpc_services.report_destinations import DestinationRpcs
from trawl.tenants.permissions import ProjectAction

STATE_TO_PB = {
    ReportState.ACTIVE: pb.REPORT_STATE_ACTIVE,
    ReportState.ARCHIVED: pb.REPORT_STATE_ARCHIVED,
}
PB_TO_STATE = {int(v): k for k, v in STATE_TO_PB.items()}
PREVIEW_COUNT = 5


def service_code_pb(code: ServiceCode) -> pb.ServiceCode:
    return pb.ServiceCode(
        id=code.id,
        code=code.code,
        title=code.title,
        description=code.description,
        image=code.image,
        version=code.version,
        entry_point=code.entry_point,
        parameters_schema_json=code.parameters_schema,
        record_schema_json=code.record_schema,
        default_timeout_seconds=code.default_timeout_seconds,
        cpu=code.cpu,
        memory=code.memory,
        active=code.active,
        created_at=timestamp(code.created_at),
        updated_at=timestamp(code.updated_at),
    )


def schedule_pb(report: Report) -> pb.Schedule | None:
    if not report.schedule_cron or not report.schedule_timezone:
        return None
    upcoming: list[datetime] = []
    if report.state == ReportState.ACTIVE and not report.schedule_paused:
        schedule = CronSchedule(cron=report.schedule_cron, timezone=report.schedule_timezone)
        upcoming = next_fire_times(schedule, datetime.now(UTC), PREVIEW_COUNT)
    return pb.Schedule(
        cron=report.schedule_cron,
        timezone=report.schedule_timezone,
        paused=report.schedule_paused,
        next_fire_times=[t for t in (timestamp(u) for u in upcoming) if t is not None],
    )


def report_pb(report: Report) -> pb.Report:
    return pb.Report(
        id=report.id,
        organization_id=report.organization_id,
        project_id=report.project_id,
        name=report.name,
        description=report.description,
        service_code=report.service_code,
        parameters_json=report.parameters,
        record_schema_json=report.record_schema,
        timeout_seconds=report.timeout_seconds,
        retry=pb.RetryPolicy(
            max_attempts=report.retry_max_attempts, backoff_seconds=report.retry_backoff_seconds
        ),
        delivery_json=report.delivery,
        schedule=schedule_pb(report),
        state=STATE_TO_PB[report.state],
        created_at=timestamp(report.created_at),
        updated_at=timestamp(report.updated_at),
        created_by_user_id=report.created_by or "",
        record_key_fields=report.key_fields,
    )


def _optional(request: Any, name: str) -> object | None:
    if not request.HasField(name):
        return None
    value: object = getattr(request, name)
    return value


def _code_fields(
    request: pb.CreateServiceCodeRequest | pb.UpdateServiceCodeRequest,
) -> ServiceCodeFields:
    creating = isinstance(request, pb.CreateServiceCodeRequest)

    def value(name: str) -> object | None:
        return getattr(request, name) if creating else _optional(request, name)

    return ServiceCodeFields(
        title=value("title"),  # type: ignore[arg-type]
        description=value("description"),  # type: ignore[arg-type]
        image=value("image"),  # type: ignore[arg-type]
        version=value("version"),  # type: ignore[arg-type]
        entry_point=value("entry_point"),  # type: ignore[arg-type]
        parameters_schema=value("parameters_schema_json"),  # type: ignore[arg-type]
        record_schema=value("record_schema_json"),  # type: ignore[arg-type]
        default_timeout_seconds=value("default_timeout_seconds"),  # type: ignore[arg-type]
        cpu=value("cpu"),  # type: ignore[arg-type]
        memory=value("memory"),  # type: ignore[arg-type]
        active=None if creating else _optional(request, "active"),  # type: ignore[arg-type]
    )


class ServiceCodesServicer(ServicerBase, reports_pb2_grpc.ServiceCodesServiceServicer):
    async def ListServiceCodes(
        self, request: pb.ListServiceCodesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListServiceCodesResponse:
        async with self.unit() as (session, actor):
            codes = await ServiceCodesService(session).list_codes(
                actor, include_retired=request.include_retired
            )
            return pb.ListServiceCodesResponse(service_codes=[service_code_pb(c) for c in codes])

    async def GetServiceCode(
        self, request: pb.GetServiceCodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServiceCode:
        async with self.unit() as (session, actor):
            return service_code_pb(await ServiceCodesService(session).get(actor, request.code))

    async def CreateServiceCode(
        self, request: pb.CreateServiceCodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServiceCode:
        async with self.unit() as (session, actor):
            code = await ServiceCodesService(session).create(
                actor, request.code, _code_fields(request)
            )
            return service_code_pb(code)

    async def UpdateServiceCode(
        self, request: pb.UpdateServiceCodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServiceCode:
        async with self.unit() as (session, actor):
            code = await ServiceCodesService(session).update(
                actor, request.code, _code_fields(request)
            )
            return service_code_pb(code)

    async def RetireServiceCode(
        self, request: pb.RetireServiceCodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServiceCode:
        async with self.unit() as (session, actor):
            return service_code_pb(await ServiceCodesService(session).retire(actor, request.code))


def _schedule(value: pb.ScheduleInput) -> ScheduleFields:
    return ScheduleFields(cron=value.cron, timezone=value.timezone, paused=value.paused)


def _report_fields(request: pb.CreateReportRequest | pb.UpdateReportRequest) -> ReportFields:
    creating = isinstance(request, pb.CreateReportRequest)

    def value(name: str) -> object | None:
        if creating and name not in ("timeout_seconds",):
            given: object = getattr(request, name)
            return given
        return _optional(request, name)

    retry = request.retry if request.HasField("retry") else None
    return ReportFields(
        name=value("name"),  # type: ignore[arg-type]
        description=value("description"),  # type: ignore[arg-type]
        service_code=value("service_code"),  # type: ignore[arg-type]
        parameters=value("parameters_json"),  # type: ignore[arg-type]
        record_schema=value("record_schema_json"),  # type: ignore[arg-type]
        timeout_seconds=_optional(request, "timeout_seconds"),  # type: ignore[arg-type]
        max_attempts=retry.max_attempts if retry else None,
        backoff_seconds=retry.backoff_seconds if retry else None,
        delivery=value("delivery_json"),  # type: ignore[arg-type]
        schedule=_schedule(request.schedule) if request.HasField("schedule") else None,
        clear_schedule=getattr(request, "clear_schedule", False),
        record_key_fields=_key_fields(request),
    )


def _key_fields(request: pb.CreateReportRequest | pb.UpdateReportRequest) -> list[str] | None:
    if isinstance(request, pb.UpdateReportRequest) and not request.set_record_key_fields:
        return None
    return [str(f).strip() for f in request.record_key_fields]


class ReportsServicer(DestinationRpcs, reports_pb2_grpc.ReportsServiceServicer):
    async def GetReport(
        self, request: pb.GetReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.Report:
        async with self.unit() as (session, actor):
            report = await ReportsService(session).report(
                actor, request.id, ProjectAction.READ_REPORTS
            )
            return report_pb(report)

    async def BatchGetReports(
        self, request: pb.BatchGetReportsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetReportsResponse:
        async with self.unit() as (session, actor):
            reports = await ReportsService(session).visible_reports(actor, list(request.ids))
            return pb.BatchGetReportsResponse(reports=[report_pb(r) for r in reports])

    async def ListReports(
        self, request: pb.ListReportsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReportsResponse:
        async with self.unit() as (session, actor):
            page = await ReportsService(session).list_reports(
                actor,
                request.project_id,
                self.page(request.page),
                service_code=request.service_code or None,
                state=PB_TO_STATE.get(request.state),
            )
            return pb.ListReportsResponse(
                reports=[report_pb(r) for r in page.items],
                page_info=page_info(page),  # type: ignore[arg-type]
            )

    async def CreateReport(
        self, request: pb.CreateReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.Report:
        async with self.unit() as (session, actor):
            report = await ReportsService(session).create_report(
                actor, request.project_id, _report_fields(request)
            )
            return report_pb(report)

    async def UpdateReport(
        self, request: pb.UpdateReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.Report:
        async with self.unit() as (session, actor):
            report = await ReportsService(session).update_report(
                actor, request.id, _report_fields(request)
            )
            return report_pb(report)

    async def ArchiveReport(
        self, request: pb.ArchiveReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.Report:
        async with self.unit() as (session, actor):
            return report_pb(await ReportsService(session).archive_report(actor, request.id))

    async def DeleteReport(
        self, request: pb.DeleteReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteReportResponse:
        async with self.unit() as (session, actor):
            await ReportsService(session).delete_report(actor, request.id)
            return pb.DeleteReportResponse()
