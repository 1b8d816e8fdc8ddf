"""Rules of reports: who may read and write them, their parameters validated against the
service code's schema, their schedule, and the events that keep workflows in step.
Never commits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain import events, validation
from trawl.domain.access import Actor
from trawl.domain.db import utcnow
from trawl.domain.errors import Conflict, InvalidInput, NotFound
from trawl.domain.pagination import Page, PageRequest
from trawl.domain.projects.models import Project
from trawl.domain.projects.service import ProjectsService
from trawl.domain.reports.documents import check_schema, parse_object, validate_against
from trawl.domain.reports.models import Report, ServiceCode, dump_json, dump_schema_json
from trawl.domain.reports.repository import ReportsRepository
from trawl.domain.reports.schedule import parse_schedule
from trawl.domain.reports.service_codes import timeout_seconds
from trawl.tenants.permissions import ProjectAction

MAX_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 3600


class ReportState:
    ACTIVE = "active"
    ARCHIVED = "archived"


@dataclass(frozen=True, slots=True)
class ScheduleFields:
    cron: str
    timezone: str
    paused: bool = False


@dataclass(frozen=True, slots=True)
class ReportFields:
    """Create: name and service code required. Update: None leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    service_code: str | None = None
    parameters: str | None = None
    record_schema: str | None = None
    timeout_seconds: int | None = None
    max_attempts: int | None = None
    backoff_seconds: int | None = None
    delivery: str | None = None
    schedule: ScheduleFields | None = None
    clear_schedule: bool = False
    record_key_fields: list[str] | None = None


class ReportsService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ReportsRepository(session)
        self.projects = ProjectsService(session)

    async def report(self, actor: Actor, report_id: str, action: ProjectAction) -> Report:
        """A report the caller may act on; another org's report looks absent."""
        validation.entity_id("id", report_id)
        found = await self.repo.reports(actor.org_ids, [report_id])
        if not found:
            raise NotFound(f"report {report_id} not found")
        try:
            await self.projects.project_with_role(actor, found[0].project_id, action)
        except NotFound:
            raise NotFound(f"report {report_id} not found") from None
        return found[0]

    async def visible_reports(self, actor: Actor, report_ids: list[str]) -> list[Report]:
        reports = await self.repo.reports(actor.org_ids, report_ids)
        readable = await self.projects.visible_projects(
            actor, list({r.project_id for r in reports})
        )
        ids = {p.id for p in readable}
        return [r for r in reports if r.project_id in ids]

    async def list_reports(
        self,
        actor: Actor,
        project_id: str,
        page: PageRequest,
        *,
        service_code: str | None,
        state: str | None,
    ) -> Page[Report]:
        project = await self.projects.project_with_role(
            actor, project_id, ProjectAction.READ_REPORTS
        )
        return await self.repo.list_reports(
            project.organization_id, project.id, page, service_code=service_code, state=state
        )

    async def create_report(self, actor: Actor, project_id: str, fields: ReportFields) -> Report:
        project = await self.projects.project_with_role(
            actor, project_id, ProjectAction.WRITE_REPORTS
        )
        if fields.name is None or fields.service_code is None:
            raise InvalidInput("name" if fields.name is None else "serviceCode", "is required")
        code = await self._active_code(fields.service_code)
        report = Report(
            organization_id=project.organization_id,
            project_id=project.id,
            service_code=code.code,
            description="",
            record_schema=code.record_schema,
            timeout_seconds=code.default_timeout_seconds,
            retry_max_attempts=1,
            retry_backoff_seconds=0,
            delivery="{}",
            record_key_fields="[]",
            parameters="{}",
            state=ReportState.ACTIVE,
            schedule_paused=False,
            created_by=actor.user_id,
        )
        await self._apply(report, project, fields, code)
        self.session.add(report)
        await self.session.flush()
        events.emit(
            self.session, actor, events.REPORT_CREATED, report.organization_id, _event_data(report)
        )
        return report

    async def update_report(self, actor: Actor, report_id: str, fields: ReportFields) -> Report:
        report = await self.report(actor, report_id, ProjectAction.WRITE_REPORTS)
        project = await self.projects.project_with_role(
            actor, report.project_id, ProjectAction.WRITE_REPORTS
        )
        code_name = fields.service_code or report.service_code
        code = (
            await self._active_code(code_name)
            if fields.service_code is not None
            else await self._code(code_name)
        )
        # Parameters are re-checked when the code changes, against the new code's schema.
        if fields.service_code is not None and fields.parameters is None:
            validate_against("parameters", code.parameters_schema_doc, report.parameters_doc)
        await self._apply(report, project, fields, code)
        report.updated_at = utcnow()
        await self.session.flush()
        events.emit(
            self.session, actor, events.REPORT_UPDATED, report.organization_id, _event_data(report)
        )
        return report

    async def archive_report(self, actor: Actor, report_id: str) -> Report:
        """Archived reports keep their run history but cannot run; their Temporal Schedule is
        deleted (the cron stays on the report, shown without upcoming fire times)."""
        report = await self.report(actor, report_id, ProjectAction.WRITE_REPORTS)
        if report.state != ReportState.ARCHIVED:
            report.state = ReportState.ARCHIVED
            report.updated_at = utcnow()
            await self.session.flush()
            events.emit(
                self.session,
                actor,
                events.REPORT_ARCHIVED,
                report.organization_id,
                _event_data(report),
            )
        return report

    async def delete_report(self, actor: Actor, report_id: str) -> None:
        report = await self.report(actor, report_id, ProjectAction.WRITE_REPORTS)
        active = await self.repo.active_run_ids(report_id=report.id)
        data = _event_data(report) | {"activeRunIds": active}
        await self.session.delete(report)
        await self.session.flush()
        events.emit(self.session, actor, events.REPORT_DELETED, report.organization_id, data)

    async def _code(self, code: str) -> ServiceCode:
        found = await self.repo.service_code(code.strip())
        if found is None:
            raise InvalidInput("serviceCode", f"unknown service code '{code}'")
        return found

    async def _active_code(self, code: str) -> ServiceCode:
        found = await self._code(code)
        if not found.active:
            raise InvalidInput("serviceCode", f"service code '{found.code}' is retired")
        return found

    async def _apply(
        self, report: Report, project: Project, f: ReportFields, code: ServiceCode
    ) -> None:
        if f.name is not None:
            name = validation.text("name", f.name, max_len=200)
            if await self.repo.report_name_taken(project.id, name, except_id=report.id):
                raise Conflict(
                    f"a report named '{name}' already exists in this project", field="name"
                )
            report.name = name
        if f.description is not None:
            report.description = validation.text(
                "description", f.description, max_len=5000, min_len=0
            )
        report.service_code = code.code
        if f.parameters is not None:
            params = parse_object("parameters", f.parameters, default={})
            validate_against("parameters", code.parameters_schema_doc, params)
            report.parameters = dump_json(params)
        elif report.id is None:
            validate_against("parameters", code.parameters_schema_doc, {})
        if f.record_schema is not None and f.record_schema.strip():
            schema = check_schema("recordSchema", parse_object("recordSchema", f.record_schema))
            report.record_schema = dump_schema_json(schema)
        if f.timeout_seconds is not None:
            report.timeout_seconds = timeout_seconds("timeoutSeconds", f.timeout_seconds)
        _apply_retry(report, f)
        if f.delivery is not None:
            report.delivery = dump_json(parse_object("delivery", f.delivery, default={}))
        if f.record_key_fields is not None:
            report.record_key_fields = dump_json(f.record_key_fields)
        _check_key_fields(report)
        _apply_schedule(report, f)


def _apply_retry(report: Report, f: ReportFields) -> None:
    if f.max_attempts is not None:
        if not 1 <= f.max_attempts <= MAX_ATTEMPTS:
            raise InvalidInput("retry.maxAttempts", f"must be between 1 and {MAX_ATTEMPTS}")
        report.retry_max_attempts = f.max_attempts
    if f.backoff_seconds is not None:
        if not 0 <= f.backoff_seconds <= MAX_BACKOFF_SECONDS:
            raise InvalidInput(
                "retry.backoffSeconds", f"must be between 0 and {MAX_BACKOFF_SECONDS}"
            )
        report.retry_backoff_seconds = f.backoff_seconds


_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_KEY_FIELDS = 10


def _check_key_fields(report: Report) -> None:
    """Key fields must be top-level properties the record schema declares (when it declares
    any): a typo would silently make every record id a hash of the whole record."""
    fields = report.key_fields
    if len(fields) > MAX_KEY_FIELDS:
        raise InvalidInput("recordKeyFields", f"at most {MAX_KEY_FIELDS} key fields")
    if len(set(fields)) != len(fields):
        raise InvalidInput("recordKeyFields", "a key field is listed twice")
    declared = report.record_schema_doc.get("properties")
    for name in fields:
        if not _FIELD_NAME.match(name):
            raise InvalidInput("recordKeyFields", f"'{name}' is not a field name")
        if isinstance(declared, dict) and declared and name not in declared:
            raise InvalidInput(
                "recordKeyFields", f"'{name}' is not a property of the report's record schema"
            )


def _apply_schedule(report: Report, f: ReportFields) -> None:
    if f.clear_schedule:
        report.schedule_cron = report.schedule_timezone = None
        report.schedule_paused = False
        return
    if f.schedule is None:
        return
    parsed = parse_schedule(f.schedule.cron, f.schedule.timezone)
    report.schedule_cron = parsed.cron
    report.schedule_timezone = parsed.timezone
    report.schedule_paused = f.schedule.paused


def _event_data(report: Report) -> dict[str, Any]:
    schedule = None
    if report.schedule_cron:
        schedule = {
            "cron": report.schedule_cron,
            "timezone": report.schedule_timezone,
            "paused": report.schedule_paused,
        }
    return {
        "reportId": report.id,
        "projectId": report.project_id,
        "serviceCode": report.service_code,
        "name": report.name,
        "state": report.state,
        "schedule": schedule,
    }
