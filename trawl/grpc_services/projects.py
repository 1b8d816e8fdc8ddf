"""ProjectsService servicer: proto ⇄ ProjectsService calls, nothing else."""

from __future__ import annotations

import grpc
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain.accounts.models import User
from trawl.domain.errors import InvalidInput
from trawl.domain.projects.models import Project, ProjectMembership, ProjectRole
from trawl.domain.projects.service import ProjectsService
from trawl.grpc_services.base import ServicerBase, page_info, timestamp
from trawl.grpc_services.gen.projects.v1 import projects_pb2 as pb
from trawl.grpc_services.gen.projects.v1 import projects_pb2_grpc
from trawl.tenants.permissions import ProjectAction

ROLE_TO_PB = {
    ProjectRole.MANAGER: pb.PROJECT_ROLE_MANAGER,
    ProjectRole.EDITOR: pb.PROJECT_ROLE_EDITOR,
    ProjectRole.VIEWER: pb.PROJECT_ROLE_VIEWER,
}
PB_TO_ROLE: dict[int, ProjectRole] = {int(v): k for k, v in ROLE_TO_PB.items()}


def role_from_pb(value: int) -> str:
    if value not in PB_TO_ROLE:
        raise InvalidInput("role", "a role is required: MANAGER, EDITOR or VIEWER")
    return PB_TO_ROLE[value].value


def project_pb(project: Project) -> pb.Project:
    return pb.Project(
        id=project.id,
        organization_id=project.organization_id,
        name=project.name,
        description=project.description,
        created_at=timestamp(project.created_at),
        updated_at=timestamp(project.updated_at),
        created_by_user_id=project.created_by or "",
    )


def member_pb(membership: ProjectMembership, user: User) -> pb.ProjectMember:
    return pb.ProjectMember(
        id=membership.id,
        project_id=membership.project_id,
        user_id=user.id,
        email=user.email or "",
        role=ROLE_TO_PB[ProjectRole(membership.role)],
        added_at=timestamp(membership.created_at),
    )


class ProjectsServicer(ServicerBase, projects_pb2_grpc.ProjectsServiceServicer):
    @staticmethod
    def _service(session: AsyncSession) -> ProjectsService:
        return ProjectsService(session)

    async def GetProject(
        self, request: pb.GetProjectRequest, context: grpc.aio.ServicerContext
    ) -> pb.Project:
        async with self.unit() as (session, actor):
            project = await self._service(session).project_with_role(
                actor, request.id, ProjectAction.READ
            )
            return project_pb(project)

    async def BatchGetProjects(
        self, request: pb.BatchGetProjectsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetProjectsResponse:
        async with self.unit() as (session, actor):
            projects = await self._service(session).visible_projects(actor, list(request.ids))
            return pb.BatchGetProjectsResponse(projects=[project_pb(p) for p in projects])

    async def ListProjects(
        self, request: pb.ListProjectsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProjectsResponse:
        async with self.unit() as (session, actor):
            page = await self._service(session).list_projects(
                actor, request.organization_id, self.page(request.page)
            )
            return pb.ListProjectsResponse(
                projects=[project_pb(p) for p in page.items],
                page_info=page_info(page),  # type: ignore[arg-type]
            )

    async def CreateProject(
        self, request: pb.CreateProjectRequest, context: grpc.aio.ServicerContext
    ) -> pb.Project:
        async with self.unit() as (session, actor):
            project = await self._service(session).create_project(
                actor, request.organization_id, request.name, request.description
            )
            return project_pb(project)

    async def UpdateProject(
        self, request: pb.UpdateProjectRequest, context: grpc.aio.ServicerContext
    ) -> pb.Project:
        async with self.unit() as (session, actor):
            project = await self._service(session).update_project(
                actor,
                request.id,
                request.name if request.HasField("name") else None,
                request.description if request.HasField("description") else None,
            )
            return project_pb(project)

    async def DeleteProject(
        self, request: pb.DeleteProjectRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteProjectResponse:
        async with self.unit() as (session, actor):
            await self._service(session).delete_project(actor, request.id)
            return pb.DeleteProjectResponse()

    async def BatchListProjectMembers(
        self, request: pb.BatchListProjectMembersRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchListProjectMembersResponse:
        async with self.unit() as (session, actor):
            pages = await self._service(session).members(
                actor, list(request.project_ids), self.page(request.page)
            )
            return pb.BatchListProjectMembersResponse(
                pages=[
                    pb.ProjectMembersPage(
                        project_id=pid,
                        members=[member_pb(m, u) for m, u in page.items],
                        page_info=page_info(page),  # type: ignore[arg-type]
                    )
                    for pid, page in pages.items()
                ]
            )

    async def AddProjectMember(
        self, request: pb.AddProjectMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.ProjectMember:
        async with self.unit() as (session, actor):
            membership, user = await self._service(session).add_member(
                actor, request.project_id, request.user_id, role_from_pb(request.role)
            )
            return member_pb(membership, user)

    async def ChangeProjectMemberRole(
        self, request: pb.ChangeProjectMemberRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.ProjectMember:
        async with self.unit() as (session, actor):
            membership, user = await self._service(session).change_member_role(
                actor, request.project_id, request.user_id, role_from_pb(request.role)
            )
            return member_pb(membership, user)

    async def RemoveProjectMember(
        self, request: pb.RemoveProjectMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveProjectMemberResponse:
        async with self.unit() as (session, actor):
            await self._service(session).remove_member(actor, request.project_id, request.user_id)
            return pb.RemoveProjectMemberResponse()
