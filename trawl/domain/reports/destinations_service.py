"""Rules of a report's delivery destinations: who reads and writes them, each medium's config
checked, secrets encrypted at rest and kept across edits that do not resend them, the check
behind `testDestination`, and the plan (secrets decrypted) the delivery workflow reads.
Never commits; secrets never reach logs, events or replies other than the system's plan."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trawl.config import Settings
from trawl.delivery import destination_config
from trawl.delivery.config_fields import ConfigError
from trawl.delivery.media import DeliveryError, Destination, check
from trawl.domain import events, validation
from trawl.domain.access import Actor
from trawl.domain.db import utcnow
from trawl.domain.errors import InvalidInput, NotFound, PreconditionFailed
from trawl.domain.ids import new_id
from trawl.domain.reports.documents import parse_object
from trawl.domain.reports.file_names import (
    DEFAULT_TEMPLATE,
    check_template,
    extension_of,
    render_file_name,
)
from trawl.domain.reports.models import Report, ReportDestination, Run, dump_json
from trawl.domain.reports.reports_service import ReportsService
from trawl.domain.reports.repository import ReportsRepository
from trawl.domain.reports.run_control import require_system
from trawl.domain.secrets import SecretBox, SecretsError
from trawl.tenants.permissions import ProjectAction

log = logging.getLogger(__name__)

MAX_DESTINATIONS = 10
FORMATS = ("csv", "json", "jsonl", "xlsx", "xml", "yaml", "avro", "parquet")
COMPRESSIONS = ("none", "gzip", "zip")


@dataclass(frozen=True, slots=True)
class DestinationFields:
    """One destination as given. With `id`, an existing one is edited: its stored secrets are
    kept unless `secrets` names them (a None value removes one)."""

    medium: str
    format: str
    compression: str = ""  # empty: none
    file_name_template: str = ""  # empty: DEFAULT_TEMPLATE
    config_json: str = ""  # a JSON object; empty: {}
    secrets: Mapping[str, str | None] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    ok: bool
    error: str | None = None
    retryable: bool | None = None


@dataclass(frozen=True, slots=True)
class PlannedDestination:
    destination: ReportDestination
    secrets: dict[str, str]
    file_name: str  # the template rendered for the run


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    run: Run
    report: Report
    destinations: list[PlannedDestination]


class DestinationsService:
    def __init__(self, session: AsyncSession, secrets: SecretBox) -> None:
        self.session = session
        self.secrets = secrets
        self.repo = ReportsRepository(session)
        self.reports = ReportsService(session)

    async def list_destinations(
        self, actor: Actor, report_ids: Sequence[str]
    ) -> list[ReportDestination]:
        """Destinations of the reports the caller may read (others' are left out)."""
        visible = await self.reports.visible_reports(actor, list(report_ids))
        return await self.repo.destinations(actor.org_ids, [r.id for r in visible])

    async def set_destinations(
        self, actor: Actor, report_id: str, given: Sequence[DestinationFields]
    ) -> list[ReportDestination]:
        """Replaces the report's destinations with `given`, in that order."""
        report = await self.reports.report(actor, report_id, ProjectAction.WRITE_REPORTS)
        if len(given) > MAX_DESTINATIONS:
            raise InvalidInput("destinations", f"at most {MAX_DESTINATIONS} destinations")
        existing = {
            d.id: d for d in await self.repo.destinations([report.organization_id], [report.id])
        }
        kept: set[str] = set()
        result = []
        for position, fields in enumerate(given):
            prefix = f"destinations.{position}"
            row = self._row(report, existing, kept, fields, prefix)
            self._apply(row, fields, prefix, position)
            result.append(row)
        for gone in set(existing) - kept:
            await self.session.delete(existing[gone])
        for row in result:
            if row.id not in existing:
                self.session.add(row)
        await self.session.flush()
        data = {
            "reportId": report.id,
            "projectId": report.project_id,
            "destinations": [_event_item(r) for r in result],
        }
        events.emit(
            self.session, actor, events.REPORT_DESTINATIONS_CHANGED, report.organization_id, data
        )
        return result

    async def destination_to_check(
        self, actor: Actor, report_id: str, destination_id: str, settings: Settings
    ) -> Destination:
        """The destination with its secrets, for `run_check` once the transaction is over (a
        check may take seconds: no database transaction waits on a remote server)."""
        report = await self.reports.report(actor, report_id, ProjectAction.WRITE_REPORTS)
        validation.entity_id("destinationId", destination_id)
        rows = await self.repo.destinations([report.organization_id], [report.id])
        row = next((r for r in rows if r.id == destination_id), None)
        if row is None:
            raise NotFound(f"destination {destination_id} not found", field="destinationId")
        return destination_config.build_destination(
            row.medium,
            row.config_doc,
            self._decrypt(row),
            timeout_seconds=settings.delivery_check_timeout_seconds,
        )

    async def delivery_plan(self, actor: Actor, settings: Settings, run_id: str) -> DeliveryPlan:
        """System only: a run's report and its destinations with their secrets decrypted."""
        require_system(actor, settings)
        validation.entity_id("runId", run_id)
        run = await self.session.get(Run, run_id, execution_options={"tenant_unscoped": True})
        if run is None:
            raise NotFound(f"run {run_id} not found")
        report = await self.session.get(
            Report, run.report_id, execution_options={"tenant_unscoped": True}
        )
        if report is None:
            raise NotFound(f"the report of run {run_id} no longer exists")
        rows = await self.repo.destinations([run.organization_id], [report.id])
        moment = run.finished_at or run.created_at
        planned = [
            PlannedDestination(
                destination=row,
                secrets=self._decrypt(row, strict=True),
                file_name=render_file_name(
                    row.file_name_template,
                    report.name,
                    run.id,
                    moment,
                    extension_of(row.format, row.compression),
                ),
            )
            for row in rows
        ]
        return DeliveryPlan(run=run, report=report, destinations=planned)

    def _row(
        self,
        report: Report,
        existing: dict[str, ReportDestination],
        kept: set[str],
        fields: DestinationFields,
        prefix: str,
    ) -> ReportDestination:
        if not fields.id:
            return ReportDestination(
                id=new_id(), organization_id=report.organization_id, report_id=report.id
            )
        row = existing.get(fields.id)
        if row is None:
            raise InvalidInput(f"{prefix}.id", f"{fields.id} is not a destination of this report")
        if row.id in kept:
            raise InvalidInput(f"{prefix}.id", f"destination {fields.id} is given twice")
        kept.add(row.id)
        return row

    def _apply(
        self, row: ReportDestination, fields: DestinationFields, prefix: str, position: int
    ) -> None:
        medium = _choice(f"{prefix}.medium", fields.medium, destination_config.MEDIA)
        template = fields.file_name_template.strip() or DEFAULT_TEMPLATE
        try:
            config = destination_config.clean_config(
                medium, parse_object(f"{prefix}.config", fields.config_json, default={})
            )
            changes = destination_config.clean_secret_changes(medium, fields.secrets)
            # Kept secrets: those the new medium has (a medium change drops the others).
            stored = self._decrypt(row) if row.secrets else {}
            names = destination_config.spec(medium).secret_names
            secrets = {k: v for k, v in stored.items() if k in names}
            for name, value in changes.items():
                if value is None:
                    secrets.pop(name, None)
                else:
                    secrets[name] = value
            destination_config.check_complete(medium, config, secrets)
        except ConfigError as error:
            raise InvalidInput(f"{prefix}.{error.field}", error.message) from None
        row.medium = medium
        row.format = _choice(f"{prefix}.format", fields.format, FORMATS)
        compression = fields.compression or "none"
        row.compression = _choice(f"{prefix}.compression", compression, COMPRESSIONS)
        row.file_name_template = check_template(f"{prefix}.fileNameTemplate", template)
        row.position = position
        row.config = dump_json(config)
        row.secret_names = dump_json(sorted(secrets))
        row.secrets = self.secrets.encrypt(row.id, secrets) if secrets else None
        row.updated_at = utcnow()

    def _decrypt(self, row: ReportDestination, *, strict: bool = False) -> dict[str, str]:
        """A row's secrets. One no configured key opens (a lost key) reads as none, so the
        user is asked for them again; the delivery plan (`strict`) fails instead."""
        if not row.secrets:
            return {}
        try:
            return self.secrets.decrypt(row.id, row.secrets)
        except SecretsError as error:
            log.warning("destination=%s secrets=unreadable reason=%s", row.id, error)
            if strict:
                raise PreconditionFailed(
                    f"the secrets of destination {row.id} cannot be decrypted; "
                    "set them again or configure the key they were encrypted with"
                ) from None
            return {}


async def run_check(destination: Destination, timeout_seconds: float) -> CheckOutcome:
    """Connect, log in and prove write access now; what failed, in the medium's words."""
    try:
        await asyncio.wait_for(check(destination), timeout_seconds + 2)
    except DeliveryError as error:
        return CheckOutcome(ok=False, error=error.message, retryable=error.retryable)
    except TimeoutError:
        return CheckOutcome(
            ok=False, error=f"no answer within {timeout_seconds:g} seconds", retryable=True
        )
    return CheckOutcome(ok=True)


def _choice(field_name: str, value: str, choices: tuple[str, ...]) -> str:
    cleaned = value.strip().lower()
    if cleaned not in choices:
        allowed = ", ".join(c.upper() for c in choices)
        raise InvalidInput(field_name, f"'{value}' is not one of {allowed}")
    return cleaned


def _event_item(row: ReportDestination) -> dict[str, Any]:
    return {
        "id": row.id,
        "medium": row.medium,
        "format": row.format,
        "compression": row.compression,
        "fileNameTemplate": row.file_name_template,
        "config": json.loads(row.config),
        "secretsSet": row.secrets_set,
    }
