"""Reads of service codes, reports and runs; tenant-owned reads always filter by organization."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain.accounts.models import Organization
from trawl.domain.pagination import Page, PageRequest
from trawl.domain.reports.models import (
    Report,
    ReportDestination,
    Run,
    RunAttempt,
    ServiceCode,
)
from trawl.domain.reports.run_states import ACTIVE

ACTIVE_STATES = tuple(s.value for s in ACTIVE)


class ReportsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def service_code(self, code: str) -> ServiceCode | None:
        return await self.session.scalar(select(ServiceCode).where(ServiceCode.code == code))

    async def service_codes(self, *, include_retired: bool) -> list[ServiceCode]:
        stmt = select(ServiceCode).order_by(ServiceCode.code)
        if not include_retired:
            stmt = stmt.where(ServiceCode.active.is_(True))
        return list(await self.session.scalars(stmt))

    async def reports(self, org_ids: Sequence[str], report_ids: Sequence[str]) -> list[Report]:
        if not org_ids or not report_ids:
            return []
        rows = await self.session.scalars(
            select(Report).where(Report.organization_id.in_(org_ids), Report.id.in_(report_ids))
        )
        return list(rows)

    async def report_name_taken(
        self, project_id: str, name: str, *, except_id: str | None = None
    ) -> bool:
        stmt = select(Report.id).where(Report.project_id == project_id, Report.name == name)
        if except_id:
            stmt = stmt.where(Report.id != except_id)
        return (await self.session.scalar(stmt)) is not None

    async def list_reports(
        self,
        org_id: str,
        project_id: str,
        page: PageRequest,
        *,
        service_code: str | None,
        state: str | None,
    ) -> Page[Report]:
        stmt = select(Report).where(
            Report.organization_id == org_id, Report.project_id == project_id
        )
        if service_code:
            stmt = stmt.where(Report.service_code == service_code)
        if state:
            stmt = stmt.where(Report.state == state)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        if page.after:
            stmt = stmt.where(Report.id > page.after)
        rows = list(await self.session.scalars(stmt.order_by(Report.id).limit(page.limit + 1)))
        return Page(items=rows[: page.limit], has_next=len(rows) > page.limit, total=total or 0)

    async def report_ids_of_project(self, project_id: str) -> list[str]:
        return list(
            await self.session.scalars(select(Report.id).where(Report.project_id == project_id))
        )

    async def destinations(
        self, org_ids: Sequence[str], report_ids: Sequence[str]
    ) -> list[ReportDestination]:
        """Destinations of the reports, in each report's order."""
        if not org_ids or not report_ids:
            return []
        rows = await self.session.scalars(
            select(ReportDestination)
            .where(
                ReportDestination.organization_id.in_(org_ids),
                ReportDestination.report_id.in_(report_ids),
            )
            .order_by(ReportDestination.report_id, ReportDestination.position)
        )
        return list(rows)

    async def runs(self, org_ids: Sequence[str], run_ids: Sequence[str]) -> list[Run]:
        if not org_ids or not run_ids:
            return []
        rows = await self.session.scalars(
            select(Run).where(Run.organization_id.in_(org_ids), Run.id.in_(run_ids))
        )
        return list(rows)

    async def list_runs(
        self,
        org_id: str,
        page: PageRequest,
        *,
        report_id: str | None = None,
        project_id: str | None = None,
        states: Sequence[str] = (),
    ) -> Page[Run]:
        """Newest first: a run history reads from the latest run down."""
        stmt = select(Run).where(Run.organization_id == org_id)
        if report_id:
            stmt = stmt.where(Run.report_id == report_id)
        if project_id:
            stmt = stmt.where(Run.project_id == project_id)
        if states:
            stmt = stmt.where(Run.state.in_(list(states)))
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        if page.after:
            stmt = stmt.where(Run.id < page.after)
        rows = list(await self.session.scalars(stmt.order_by(Run.id.desc()).limit(page.limit + 1)))
        return Page(items=rows[: page.limit], has_next=len(rows) > page.limit, total=total or 0)

    async def runs_of_reports(
        self,
        org_ids: Sequence[str],
        report_ids: Sequence[str],
        page: PageRequest,
        states: Sequence[str] = (),
    ) -> dict[str, Page[Run]]:
        """One page of runs per report, newest first, in two statements whatever the number
        of reports: a window numbers each report's runs (after the cursor), and one grouped
        count gives each report's total (before it)."""
        if not org_ids or not report_ids:
            return {}
        scope = [Run.organization_id.in_(org_ids), Run.report_id.in_(report_ids)]
        if states:
            scope.append(Run.state.in_(list(states)))
        totals = dict(
            (
                await self.session.execute(
                    select(Run.report_id, func.count()).where(*scope).group_by(Run.report_id)
                )
            ).all()
        )
        row_number = func.row_number().over(partition_by=Run.report_id, order_by=Run.id.desc())
        inner = select(Run.id.label("rid"), row_number.label("rn")).where(*scope)
        if page.after:
            inner = inner.where(Run.id < page.after)
        numbered = inner.subquery()
        stmt = (
            select(Run)
            .join(numbered, numbered.c.rid == Run.id)
            .where(numbered.c.rn <= page.limit + 1)
            .order_by(Run.report_id, Run.id.desc())
        )
        grouped: dict[str, list[Run]] = {r: [] for r in report_ids}
        for run in await self.session.scalars(stmt):
            grouped[run.report_id].append(run)
        return {
            rid: Page(
                items=rows[: page.limit],
                has_next=len(rows) > page.limit,
                total=int(totals.get(rid, 0)),
            )
            for rid, rows in grouped.items()
        }

    async def active_run_ids(
        self,
        *,
        org_id: str | None = None,
        report_id: str | None = None,
        project_id: str | None = None,
    ) -> list[str]:
        stmt = select(Run.id).where(Run.state.in_(ACTIVE_STATES))
        if org_id:
            stmt = stmt.where(Run.organization_id == org_id)
        if report_id:
            stmt = stmt.where(Run.report_id == report_id)
        if project_id:
            stmt = stmt.where(Run.project_id == project_id)
        return list(await self.session.scalars(stmt))

    async def run_by_trigger_key(self, key: str) -> Run | None:
        return await self.session.scalar(select(Run).where(Run.trigger_key == key))

    async def attempts(self, run_id: str) -> list[RunAttempt]:
        rows = await self.session.scalars(
            select(RunAttempt).where(RunAttempt.run_id == run_id).order_by(RunAttempt.attempt)
        )
        return list(rows)

    async def attempts_of_runs(self, run_ids: Sequence[str]) -> dict[str, list[RunAttempt]]:
        grouped: dict[str, list[RunAttempt]] = {r: [] for r in run_ids}
        if not run_ids:
            return grouped
        rows = await self.session.scalars(
            select(RunAttempt)
            .where(RunAttempt.run_id.in_(run_ids))
            .order_by(RunAttempt.run_id, RunAttempt.attempt)
        )
        for row in rows:
            grouped[row.run_id].append(row)
        return grouped

    async def attempt(self, run_id: str, attempt: int) -> RunAttempt | None:
        return await self.session.scalar(
            select(RunAttempt).where(RunAttempt.run_id == run_id, RunAttempt.attempt == attempt)
        )

    async def lock_organization(self, org_id: str) -> Organization | None:
        """Serializes run triggers of one organization, so the concurrency limit holds under
        concurrent triggers (SQLite already serializes writers with BEGIN IMMEDIATE)."""
        # populate_existing: an Organization already in the session must be re-read under
        # the lock, not returned as loaded before it.
        return await self.session.scalar(
            select(Organization)
            .where(Organization.id == org_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def lock_run(self, run_id: str) -> Run | None:
        return await self.session.scalar(
            select(Run)
            .where(Run.id == run_id)
            .with_for_update()
            .execution_options(tenant_unscoped=True, populate_existing=True)
        )
