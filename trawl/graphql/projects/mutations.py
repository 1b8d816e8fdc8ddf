"""Projects mutations: projects and their members."""

from __future__ import annotations

import strawberry

from trawl.graphql.context import Context
from trawl.graphql.errors import UserError, UserInputError, payload_errors
from trawl.graphql.projects.types import Project, ProjectMember, ProjectRole
from trawl.graphql.relay import raw_id
from trawl.grpc_services.clients import ServiceError
from trawl.grpc_services.gen.projects.v1 import projects_pb2 as pb

Failure = (ServiceError, UserInputError)


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


@strawberry.type
class ProjectsMutation:
    @strawberry.mutation
    async def create_project(
        self, info: strawberry.Info[Context, None], input: CreateProjectInput
    ) -> ProjectPayload:
        ctx = info.context
        try:
            project = await ctx.call(
                ctx.clients.projects,
                ctx.clients.projects.stub.CreateProject,
                pb.CreateProjectRequest(
                    organization_id=raw_id(input.organization_id, "Organization", "organizationId"),
                    name=input.name,
                    description=input.description,
                ),
            )
        except Failure as error:
            return ProjectPayload(errors=payload_errors(error))
        return ProjectPayload(project=Project.from_pb(project))

    @strawberry.mutation
    async def update_project(
        self, info: strawberry.Info[Context, None], input: UpdateProjectInput
    ) -> ProjectPayload:
        ctx = info.context
        try:
            request = pb.UpdateProjectRequest(id=raw_id(input.id, "Project"))
            if input.name is not None:
                request.name = input.name
            if input.description is not None:
                request.description = input.description
            project = await ctx.call(
                ctx.clients.projects, ctx.clients.projects.stub.UpdateProject, request
            )
        except Failure as error:
            return ProjectPayload(errors=payload_errors(error))
        return ProjectPayload(project=Project.from_pb(project))

    @strawberry.mutation
    async def delete_project(
        self, info: strawberry.Info[Context, None], input: DeleteProjectInput
    ) -> DeleteProjectPayload:
        ctx = info.context
        try:
            await ctx.call(
                ctx.clients.projects,
                ctx.clients.projects.stub.DeleteProject,
                pb.DeleteProjectRequest(id=raw_id(input.id, "Project")),
            )
        except Failure as error:
            return DeleteProjectPayload(errors=payload_errors(error))
        return DeleteProjectPayload(deleted_project_id=input.id)

    @strawberry.mutation
    async def add_project_member(
        self, info: strawberry.Info[Context, None], input: AddProjectMemberInput
    ) -> ProjectMemberPayload:
        ctx = info.context
        try:
            project_id, user_id = _member_request(input)
            member = await ctx.call(
                ctx.clients.projects,
                ctx.clients.projects.stub.AddProjectMember,
                pb.AddProjectMemberRequest(
                    project_id=project_id, user_id=user_id, role=input.role.value
                ),
            )
        except Failure as error:
            return ProjectMemberPayload(errors=payload_errors(error))
        return ProjectMemberPayload(member=ProjectMember.from_pb(member))

    @strawberry.mutation
    async def change_project_member_role(
        self, info: strawberry.Info[Context, None], input: ChangeProjectMemberRoleInput
    ) -> ProjectMemberPayload:
        ctx = info.context
        try:
            project_id, user_id = _member_request(input)
            member = await ctx.call(
                ctx.clients.projects,
                ctx.clients.projects.stub.ChangeProjectMemberRole,
                pb.ChangeProjectMemberRoleRequest(
                    project_id=project_id, user_id=user_id, role=input.role.value
                ),
            )
        except Failure as error:
            return ProjectMemberPayload(errors=payload_errors(error))
        return ProjectMemberPayload(member=ProjectMember.from_pb(member))

    @strawberry.mutation
    async def remove_project_member(
        self, info: strawberry.Info[Context, None], input: RemoveProjectMemberInput
    ) -> RemoveProjectMemberPayload:
        ctx = info.context
        try:
            project_id, user_id = _member_request(input)
            await ctx.call(
                ctx.clients.projects,
                ctx.clients.projects.stub.RemoveProjectMember,
                pb.RemoveProjectMemberRequest(project_id=project_id, user_id=user_id),
            )
        except Failure as error:
            return RemoveProjectMemberPayload(errors=payload_errors(error))
        return RemoveProjectMemberPayload(removed_user_id=input.user_id)
