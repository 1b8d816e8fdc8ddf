"""Rules of projects and project members. Never commits.

A caller's role on a project is derived once per call: org owners and admins manage every
project, other org members act through their project membership, billing sees none."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain import events, validation
from trawl.domain.access import Actor
from trawl.domain.accounts.models import OrgRole, User
from trawl.domain.accounts.repository import AccountsRepository
from trawl.domain.db import utcnow
from trawl.domain.errors import Conflict, InvalidInput, NotFound
from trawl.domain.pagination import Page, PageRequest
from trawl.domain.projects.models import Project, ProjectMembership, ProjectRole
from trawl.domain.projects.repository import ProjectsRepository
from trawl.tenants.permissions import (
    OrgAction,
    ProjectAction,
    effective_project_role,
    org_allows,
    project_allows,
    require_org,
    require_project,
)


class ProjectsService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = ProjectsRepository(session)
        self.accounts = AccountsRepository(session)

    async def _roles(self, actor: Actor, projects: list[Project]) -> dict[str, ProjectRole | None]:
        own = await self.repo.roles_of(actor.user_id, [p.id for p in projects])
        return {
            p.id: effective_project_role(
                actor.org_role(p.organization_id),
                ProjectRole(own[p.id]) if p.id in own else None,
            )
            for p in projects
        }

    async def visible_projects(self, actor: Actor, project_ids: list[str]) -> list[Project]:
        """Projects among the ids that the caller may read; others are as if absent."""
        projects = await self.repo.projects(actor.org_ids, project_ids)
        roles = await self._roles(actor, projects)
        return [p for p in projects if project_allows(roles[p.id], ProjectAction.READ)]

    async def project_with_role(
        self, actor: Actor, project_id: str, action: ProjectAction
    ) -> Project:
        validation.entity_id("projectId", project_id)
        found = await self.repo.projects(actor.org_ids, [project_id])
        roles = await self._roles(actor, found)
        if not found or not project_allows(roles[project_id], ProjectAction.READ):
            raise NotFound(f"project {project_id} not found")
        require_project(roles[project_id], action)
        return found[0]

    async def list_projects(self, actor: Actor, org_id: str, page: PageRequest) -> Page[Project]:
        role = actor.require_member(org_id)
        if org_allows(role, OrgAction.SEE_ALL_PROJECTS):
            return await self.repo.list_projects(org_id, page, member_user_id=None)
        if role == OrgRole.BILLING:
            return Page(items=[], has_next=False, total=0)
        return await self.repo.list_projects(org_id, page, member_user_id=actor.user_id)

    async def create_project(
        self, actor: Actor, org_id: str, name: str, description: str
    ) -> Project:
        require_org(actor.require_member(org_id), OrgAction.CREATE_PROJECT)
        clean_name = validation.text("name", name, max_len=200)
        clean_description = validation.text("description", description, max_len=5000, min_len=0)
        if await self.repo.name_taken(org_id, clean_name):
            raise Conflict(f"a project named '{clean_name}' already exists", field="name")
        project = Project(
            organization_id=org_id,
            name=clean_name,
            description=clean_description,
            created_by=actor.user_id,
        )
        self.repo.session.add(project)
        await self.repo.session.flush()
        if not actor.principal.is_machine:
            self.repo.session.add(
                ProjectMembership(
                    organization_id=org_id,
                    project_id=project.id,
                    user_id=actor.user_id,
                    role=ProjectRole.MANAGER,
                )
            )
            await self.repo.session.flush()
        events.emit(
            self.repo.session,
            actor,
            events.PROJECT_CREATED,
            org_id,
            {"projectId": project.id, "name": project.name},
        )
        return project

    async def update_project(
        self, actor: Actor, project_id: str, name: str | None, description: str | None
    ) -> Project:
        project = await self.project_with_role(actor, project_id, ProjectAction.UPDATE)
        if name is not None:
            clean_name = validation.text("name", name, max_len=200)
            if await self.repo.name_taken(
                project.organization_id, clean_name, except_id=project.id
            ):
                raise Conflict(f"a project named '{clean_name}' already exists", field="name")
            project.name = clean_name
        if description is not None:
            project.description = validation.text(
                "description", description, max_len=5000, min_len=0
            )
        project.updated_at = utcnow()
        await self.repo.session.flush()
        events.emit(
            self.repo.session,
            actor,
            events.PROJECT_UPDATED,
            project.organization_id,
            {"projectId": project.id, "name": project.name},
        )
        return project

    async def delete_project(self, actor: Actor, project_id: str) -> Project:
        project = await self.project_with_role(actor, project_id, ProjectAction.DELETE)
        # Listed before the cascade removes them: the handler deletes their schedules and
        # stops their runs.
        reports = await self.repo.report_ids(project.id)
        active_runs = await self.repo.active_run_ids(project.id)
        await self.repo.session.delete(project)
        await self.repo.session.flush()
        events.emit(
            self.repo.session,
            actor,
            events.PROJECT_DELETED,
            project.organization_id,
            {
                "projectId": project.id,
                "name": project.name,
                "reportIds": reports,
                "activeRunIds": active_runs,
            },
        )
        return project

    async def members(
        self, actor: Actor, project_ids: list[str], page: PageRequest
    ) -> dict[str, Page[tuple[ProjectMembership, User]]]:
        """Members of many projects in a constant number of statements (DataLoader batches)."""
        visible = await self.visible_projects(actor, project_ids)
        return await self.repo.members_of_projects(actor.org_ids, [p.id for p in visible], page)

    async def add_member(
        self, actor: Actor, project_id: str, user_id: str, role: str
    ) -> tuple[ProjectMembership, User]:
        project = await self.project_with_role(actor, project_id, ProjectAction.MANAGE_MEMBERS)
        new_role = validation.enum_value("role", role, ProjectRole)
        validation.entity_id("userId", user_id)
        org_membership = await self.accounts.membership(project.organization_id, user_id)
        if org_membership is None:
            raise InvalidInput("userId", "this user is not a member of the project's organization")
        if org_membership.role == OrgRole.BILLING:
            raise InvalidInput("userId", "billing members cannot join projects")
        if await self.repo.membership(project.id, user_id) is not None:
            raise Conflict("this user is already a member of the project", field="userId")
        membership = ProjectMembership(
            organization_id=project.organization_id,
            project_id=project.id,
            user_id=user_id,
            role=new_role,
        )
        self.repo.session.add(membership)
        await self.repo.session.flush()
        events.emit(
            self.repo.session,
            actor,
            events.PROJECT_MEMBER_ADDED,
            project.organization_id,
            {"projectId": project.id, "userId": user_id, "role": new_role.value},
        )
        return membership, await self._user(user_id)

    async def change_member_role(
        self, actor: Actor, project_id: str, user_id: str, role: str
    ) -> tuple[ProjectMembership, User]:
        project = await self.project_with_role(actor, project_id, ProjectAction.MANAGE_MEMBERS)
        new_role = validation.enum_value("role", role, ProjectRole)
        membership = await self._membership(project.id, user_id)
        membership.role = new_role
        await self.repo.session.flush()
        events.emit(
            self.repo.session,
            actor,
            events.PROJECT_MEMBER_ROLE_CHANGED,
            project.organization_id,
            {"projectId": project.id, "userId": user_id, "role": new_role.value},
        )
        return membership, await self._user(user_id)

    async def remove_member(self, actor: Actor, project_id: str, user_id: str) -> None:
        action = ProjectAction.READ if user_id == actor.user_id else ProjectAction.MANAGE_MEMBERS
        project = await self.project_with_role(actor, project_id, action)
        membership = await self._membership(project.id, user_id)
        await self.repo.session.delete(membership)
        await self.repo.session.flush()
        events.emit(
            self.repo.session,
            actor,
            events.PROJECT_MEMBER_REMOVED,
            project.organization_id,
            {"projectId": project.id, "userId": user_id},
        )

    async def _membership(self, project_id: str, user_id: str) -> ProjectMembership:
        membership = await self.repo.membership(project_id, validation.entity_id("userId", user_id))
        if membership is None:
            raise NotFound(f"user {user_id} is not a member of this project")
        return membership

    async def _user(self, user_id: str) -> User:
        user = await self.repo.session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        return user
