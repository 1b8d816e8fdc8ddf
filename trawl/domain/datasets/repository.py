"""Relational reads a dataset needs besides the run itself; always within one organization."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain.reports.models import Report, Run
from trawl.domain.reports.run_states import RunState


class DatasetsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def run(self, run_id: str) -> Run | None:
        """By id alone: only for system callers, whose session is not narrowed."""
        return await self.session.scalar(select(Run).where(Run.id == run_id))

    async def report(self, org_id: str, report_id: str) -> Report | None:
        return await self.session.scalar(
            select(Report).where(Report.organization_id == org_id, Report.id == report_id)
        )

    async def latest_succeeded_run(self, org_id: str, report_id: str) -> Run | None:
        """The SUCCEEDED run of the report that finished last (ties: the newest run)."""
        return await self.session.scalar(
            select(Run)
            .where(
                Run.organization_id == org_id,
                Run.report_id == report_id,
                Run.state == RunState.SUCCEEDED.value,
            )
            .order_by(Run.finished_at.desc(), Run.id.desc())
            .limit(1)
        )
