"""Datasets as users see them. Reading a run's records takes the same permission as reading
the run; the organization every MongoDB query filters on comes from that verified run, never
from the request. Scopes are resolved in the caller's transaction; records are read after it
(`DatasetReader`), so no database transaction stays open while MongoDB answers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trawl.config import Settings
from trawl.domain.access import Actor
from trawl.domain.datasets.cursor import RecordKey
from trawl.domain.datasets.exports import ExportTarget
from trawl.domain.datasets.fields import DeclaredField, declared_fields
from trawl.domain.datasets.filters import Condition, compile_filter
from trawl.domain.datasets.projection import compile_projection
from trawl.domain.datasets.repository import DatasetsRepository
from trawl.domain.datasets.store import RecordsQuery, RecordStore
from trawl.domain.errors import InvalidInput, NotFound
from trawl.domain.reports.models import Report, Run
from trawl.domain.reports.reports_service import ReportsService
from trawl.domain.reports.runs_service import RunsService
from trawl.stream.sinks.mongo import read_payload
from trawl.tenants.permissions import ProjectAction

# A page stops early past this many bytes of payload JSON, so a reply stays well under
# gRPC's 4 MiB message limit whatever the records weigh (one record always comes back).
MAX_PAGE_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class DatasetScope:
    organization_id: str
    run_id: str
    fields: Mapping[str, DeclaredField]


@dataclass(frozen=True, slots=True)
class RecordsRequest:
    first: int
    after: str | None
    conditions: Sequence[Condition]
    fields: Sequence[str] | None  # None: the whole payload


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    key: RecordKey
    emitted_at: str
    payload_json: str


@dataclass(frozen=True, slots=True)
class DatasetPage:
    run_id: str
    records: list[DatasetRecord]
    has_next: bool
    total: int

    @property
    def end_cursor(self) -> str | None:
        return self.records[-1].key.cursor() if self.records else None


def _scope(run: Run, report: Report | None) -> DatasetScope:
    schema = report.record_schema_doc if report is not None else {}
    return DatasetScope(run.organization_id, run.id, declared_fields(schema))


class DatasetsService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.runs = RunsService(session, settings)
        self.reports = ReportsService(session)
        self.repo = DatasetsRepository(session)

    async def run_scope(self, actor: Actor, run_id: str) -> DatasetScope:
        run = await self.runs.run(actor, run_id, ProjectAction.READ_REPORTS)
        return _scope(run, await self.repo.report(run.organization_id, run.report_id))

    async def export_target(self, actor: Actor, run_id: str) -> ExportTarget:
        """What an export of the run covers, for a caller who may read the run."""
        run = await self.runs.run(actor, run_id, ProjectAction.READ_REPORTS)
        return await self._target(run)

    async def export_target_for_system(self, run_id: str) -> ExportTarget:
        """The same for the platform's delivery workflow (unscoped session, system caller)."""
        run = await self.repo.run(run_id)
        if run is None:
            raise NotFound(f"run {run_id} not found")
        return await self._target(run)

    async def _target(self, run: Run) -> ExportTarget:
        report = await self.repo.report(run.organization_id, run.report_id)
        if report is None:
            raise NotFound(f"the report of run {run.id} is gone")
        return ExportTarget(
            organization_id=run.organization_id,
            project_id=run.project_id,
            report_id=report.id,
            report_name=report.name,
            run_id=run.id,
            record_schema=report.record_schema_doc,
            finished_at=run.finished_at,
        )

    async def latest_scope(self, actor: Actor, report_id: str) -> DatasetScope | None:
        """The dataset of the report's last SUCCEEDED run; None when it has none."""
        report = await self.reports.report(actor, report_id, ProjectAction.READ_REPORTS)
        run = await self.repo.latest_succeeded_run(report.organization_id, report.id)
        return _scope(run, report) if run is not None else None


def _emitted_at(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return value if isinstance(value, str) else ""


def _record(doc: Mapping[str, Any]) -> DatasetRecord:
    attempt, sequence = int(doc.get("attempt") or 0), int(doc.get("sequence") or 0)
    payload = json.dumps(read_payload(doc), ensure_ascii=False, separators=(",", ":"))
    return DatasetRecord(
        key=RecordKey(attempt, sequence, str(doc["record_id"])),
        emitted_at=_emitted_at(doc.get("emitted_at")),
        payload_json=payload,
    )


class DatasetReader:
    """Validates a request against a scope's declared fields and reads one page."""

    def __init__(self, store: RecordStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def _limit(self, first: int) -> int:
        maximum = self.settings.page_size_max
        if first < 0 or first > maximum:
            raise InvalidInput("first", f"must be between 0 and {maximum}")
        return first or self.settings.page_size_default

    async def read(self, scope: DatasetScope, request: RecordsRequest) -> DatasetPage:
        query = RecordsQuery(
            organization_id=scope.organization_id,
            run_id=scope.run_id,
            clauses=compile_filter(request.conditions, scope.fields),
            projection=compile_projection(request.fields, scope.fields),
            after=RecordKey.from_cursor(request.after) if request.after else None,
            limit=self._limit(request.first),
        )
        stored = await self.store.page(query)
        records: list[DatasetRecord] = []
        size, has_next = 0, stored.has_next
        for doc in stored.docs:
            record = _record(doc)
            size += len(record.payload_json)
            if records and size > MAX_PAGE_BYTES:
                has_next = True
                break
            records.append(record)
        return DatasetPage(scope.run_id, records, has_next, stored.total)
