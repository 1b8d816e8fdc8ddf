"""Reads and writes of projects and project members, always filtered by organization."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain.accounts.models import User
from trawl.domain.pagination import Page, PageRequest
from trawl.domain.projects.models import Project, ProjectMembership
from trawl.domain.reports.models import Report, Run
from trawl.domain.reports.run_states import ACTIVE


class ProjectsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def projects(self, org_ids: Sequence[str], project_ids: Sequence[str]) -> list[Project]:
        if not org_ids or not project_ids:
            return []
        rows = await self.session.scalars(
            select(Project).where(Project.organization_id.in_(org_ids), Project.id.in_(project_ids))
        )
        return list(rows)

    async def name_taken(self, org_id: str, name: str, *, except_id: str | None = None) -> bool:
        stmt = select(Project.id).where(Project.organization_id == org_id, Project.name == name)
        if except_id:
            stmt = stmt.where(Project.id != except_id)
        return (await self.session.scalar(stmt)) is not None

    async def list_projects(
        self, org_id: str, page: PageRequest, *, member_user_id: str | None
    ) -> Page[Project]:
        """All projects of the org, or (member_user_id given) only those the user belongs to."""
        stmt = select(Project).where(Project.organization_id == org_id)
        if member_user_id is not None:
            stmt = stmt.join(
                ProjectMembership,
                and_(
                    ProjectMembership.project_id == Project.id,
                    ProjectMembership.user_id == member_user_id,
                ),
            )
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        if page.after:
            stmt = stmt.where(Project.id > page.after)
        rows = list(await self.session.scalars(stmt.order_by(Project.id).limit(page.limit + 1)))
        return Page(items=rows[: page.limit], has_next=len(rows) > page.limit, total=total or 0)

    async def roles_of(self, user_id: str, project_ids: Sequence[str]) -> dict[str, str]:
        if not project_ids:
            return {}
        rows = await self.session.execute(
            select(ProjectMembership.project_id, ProjectMembership.role).where(
                ProjectMembership.user_id == user_id, ProjectMembership.project_id.in_(project_ids)
            )
        )
        return {pid: role for pid, role in rows.all()}

    async def membership(self, project_id: str, user_id: str) -> ProjectMembership | None:
        return await self.session.scalar(
            select(ProjectMembership).where(
                ProjectMembership.project_id == project_id, ProjectMembership.user_id == user_id
            )
        )

    async def members_of_projects(
        self, org_ids: Sequence[str], project_ids: Sequence[str], page: PageRequest
    ) -> dict[str, Page[tuple[ProjectMembership, User]]]:
        """One statement for any number of projects: a window numbers each project's members
        so a nested `projects { members }` costs the same whatever the page size."""
        if not project_ids:
            return {}
        row_number = func.row_number().over(
            partition_by=ProjectMembership.project_id, order_by=ProjectMembership.id
        )
        total = func.count().over(partition_by=ProjectMembership.project_id)
        inner = select(
            ProjectMembership.id.label("mid"),
            row_number.label("rn"),
            total.label("total"),
        ).where(
            ProjectMembership.organization_id.in_(org_ids),
            ProjectMembership.project_id.in_(project_ids),
        )
        if page.after:
            inner = inner.where(ProjectMembership.id > page.after)
        numbered = inner.subquery()
        stmt = (
            select(ProjectMembership, User, numbered.c.total)
            .join(numbered, numbered.c.mid == ProjectMembership.id)
            .join(User, User.id == ProjectMembership.user_id)
            .where(numbered.c.rn <= page.limit + 1)
            .order_by(ProjectMembership.project_id, ProjectMembership.id)
        )
        grouped: dict[str, list[tuple[ProjectMembership, User]]] = {p: [] for p in project_ids}
        totals: dict[str, int] = {}
        for membership, user, count in (await self.session.execute(stmt)).all():
            grouped[membership.project_id].append((membership, user))
            totals[membership.project_id] = int(count)
        return {
            pid: Page(
                items=rows[: page.limit], has_next=len(rows) > page.limit, total=totals.get(pid, 0)
            )
            for pid, rows in grouped.items()
        }

    async def remove_user_from_org_projects(self, org_id: str, user_id: str) -> None:
        await self.session.execute(
            delete(ProjectMembership).where(
                ProjectMembership.organization_id == org_id, ProjectMembership.user_id == user_id
            )
        )

    async def report_ids(self, project_id: str) -> list[str]:
        return list(
            await self.session.scalars(select(Report.id).where(Report.project_id == project_id))
        )

    async def active_run_ids(self, project_id: str) -> list[str]:
        rows = await self.session.scalars(
            select(Run.id).where(
                Run.project_id == project_id, Run.state.in_([s.value for s in ACTIVE])
            )
        )
        return list(rows)
