"""Projects mutations: projects and their members."""

from __future__ import annotations

import strawberry

from trawl.graphql.context import Context
from trawl.graphql.errors import UserError
from trawl.graphql.mutation import payload_or_errors
from trawl.graphql.projects.types import Project, ProjectMember, ProjectRole
from trawl.graphql.relay import raw_id
from trawl.grpc_services.gen.projects.v1 import projects_pb2 as pb


@strawberry.input
class CreateProjectInput:
    organization_id: strawberry.ID
    name: str
    description: str = ""


@strawberry.input
class UpdateProjectInput:
    id: strawberry.ID
    name: str | None = None
    description: str | None = None


@strawberry.input
class DeleteProjectInput:
    id: strawberry.ID


@strawberry.input
class AddProjectMemberInput:
    project_id: strawberry.ID
    user_id: strawberry.ID
    role: ProjectRole


@strawberry.input
class ChangeProjectMemberRoleInput:
    project_id: strawberry.ID
    user_id: strawberry.ID
    role: ProjectRole


@strawberry.input
class RemoveProjectMemberInput:
    project_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.type
class ProjectPayload:
    project: Project | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteProjectPayload:
    deleted_project_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ProjectMemberPayload:
    member: ProjectMember | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemoveProjectMemberPayload:
    removed_user_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _member_request(
    input: AddProjectMemberInput | ChangeProjectMemberRoleInput | RemoveProjectMemberInput,
) -> tuple[str, str]:
    return raw_id(input.project_id, "Project", "projectId"), raw_id(input.user_id, "User", "userId")


async def _create_project(ctx: Context, input: CreateProjectInput) -> ProjectPayload:
    request = pb.CreateProjectRequest(
        organization_id=raw_id(input.organization_id, "Organization", "organizationId"),
        name=input.name,
        description=input.description,
    )
    projects = ctx.clients.projects
    project = await ctx.call(projects, projects.stub.CreateProject, request)
    return ProjectPayload(project=Project.from_pb(project))


async def _update_project(ctx: Context, input: UpdateProjectInput) -> ProjectPayload:
    request = pb.UpdateProjectRequest(id=raw_id(input.id, "Project"))
    if input.name is not None:
        request.name = input.name
    if input.description is not None:
        request.description = input.description
    projects = ctx.clients.projects
    project = await ctx.call(projects, projects.stub.UpdateProject, request)
    return ProjectPayload(project=Project.from_pb(project))


async def _delete_project(ctx: Context, input: DeleteProjectInput) -> DeleteProjectPayload:
    request = pb.DeleteProjectRequest(id=raw_id(input.id, "Project"))
    projects = ctx.clients.projects
    await ctx.call(projects, projects.stub.DeleteProject, request)
    return DeleteProjectPayload(deleted_project_id=input.id)


async def _add_member(ctx: Context, input: AddProjectMemberInput) -> ProjectMemberPayload:
    project_id, user_id = _member_request(input)
    request = pb.AddProjectMemberRequest(
        project_id=project_id, user_id=user_id, role=input.role.value
    )
    projects = ctx.clients.projects
    member = await ctx.call(projects, projects.stub.AddProjectMember, request)
    return ProjectMemberPayload(member=ProjectMember.from_pb(member))


async def _change_role(ctx: Context, input: ChangeProjectMemberRoleInput) -> ProjectMemberPayload:
    project_id, user_id = _member_request(input)
    request = pb.ChangeProjectMemberRoleRequest(
        project_id=project_id, user_id=user_id, role=input.role.value
    )
    projects = ctx.clients.projects
    member = await ctx.call(projects, projects.stub.ChangeProjectMemberRole, request)
    return ProjectMemberPayload(member=ProjectMember.from_pb(member))


async def _remove(ctx: Context, input: RemoveProjectMemberInput) -> RemoveProjectMemberPayload:
    project_id, user_id = _member_request(input)
    request = pb.RemoveProjectMemberRequest(project_id=project_id, user_id=user_id)
    projects = ctx.clients.projects
    await ctx.call(projects, projects.stub.RemoveProjectMember, request)
    return RemoveProjectMemberPayload(removed_user_id=input.user_id)


@strawberry.type
class ProjectsMutation:
    @strawberry.mutation
    async def create_project(
        self, info: strawberry.Info[Context, None], input: CreateProjectInput
    ) -> ProjectPayload:
        return await payload_or_errors(ProjectPayload, _create_project(info.context, input))

    @strawberry.mutation
    async def update_project(
        self, info: strawberry.Info[Context, None], input: UpdateProjectInput
    ) -> ProjectPayload:
        return await payload_or_errors(ProjectPayload, _update_project(info.context, input))

    @strawberry.mutation
    async def delete_project(
        self, info: strawberry.Info[Context, None], input: DeleteProjectInput
    ) -> DeleteProjectPayload:
        return await payload_or_errors(DeleteProjectPayload, _delete_project(info.context, input))

    @strawberry.mutation
    async def add_project_member(
        self, info: strawberry.Info[Context, None], input: AddProjectMemberInput
    ) -> ProjectMemberPayload:
        return await payload_or_errors(ProjectMemberPayload, _add_member(info.context, input))

    @strawberry.mutation
    async def change_project_member_role(
        self, info: strawberry.Info[Context, None], input: ChangeProjectMemberRoleInput
    ) -> ProjectMemberPayload:
        return await payload_or_errors(ProjectMemberPayload, _change_role(info.context, input))

    @strawberry.mutation
    async def remove_project_member(
        self, info: strawberry.Info[Context, None], input: RemoveProjectMemberInput
    ) -> RemoveProjectMemberPayload:
        return await payload_or_errors(RemoveProjectMemberPayload, _remove(info.context, input))
