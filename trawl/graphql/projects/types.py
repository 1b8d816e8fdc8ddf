"""GraphQL types of the projects domain, built from ProjectsService replies."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from trawl.graphql.accounts.types import Organization, User
from trawl.graphql.context import Context
from trawl.graphql.node import Node
from trawl.graphql.relay import Connection, PageInfo, build_connection, decode_cursor, to_global_id
from trawl.graphql.reports.queries import project_reports
from trawl.graphql.runs.queries import project_runs
from trawl.graphql.scalars import required_datetime, to_datetime
from trawl.grpc_services.gen.projects.v1 import projects_pb2 as pb


@strawberry.enum
class ProjectRole(Enum):
    MANAGER = pb.PROJECT_ROLE_MANAGER
    EDITOR = pb.PROJECT_ROLE_EDITOR
    VIEWER = pb.PROJECT_ROLE_VIEWER


@strawberry.type
class ProjectMember:
    raw_user_id: strawberry.Private[str]
    role: ProjectRole
    added_at: datetime

    @classmethod
    def from_pb(cls, member: pb.ProjectMember) -> ProjectMember:
        return cls(
            raw_user_id=member.user_id,
            role=ProjectRole(member.role),
            added_at=required_datetime(member, "added_at"),
        )

    @strawberry.field
    async def user(self, info: strawberry.Info[Context, None]) -> User | None:
        found = await info.context.loaders.user_by_id.load(self.raw_user_id)
        return User.from_pb(found) if found else None


@strawberry.type
class Project(Node):
    raw_id: strawberry.Private[str]
    raw_org_id: strawberry.Private[str]
    name: str
    description: str
    created_at: datetime
    updated_at: datetime | None
    reports = strawberry.field(resolver=project_reports)
    runs = strawberry.field(resolver=project_runs)

    @classmethod
    def from_pb(cls, project: pb.Project) -> Project:
        return cls(
            id=to_global_id("Project", project.id),
            raw_id=project.id,
            raw_org_id=project.organization_id,
            name=project.name,
            description=project.description,
            created_at=required_datetime(project, "created_at"),
            updated_at=to_datetime(project, "updated_at"),
        )

    @strawberry.field
    async def organization(self, info: strawberry.Info[Context, None]) -> Organization | None:
        found = await info.context.loaders.organization_by_id.load(self.raw_org_id)
        return Organization.from_pb(found) if found else None

    @strawberry.field
    async def members(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ProjectMember]:
        ctx = info.context
        page = await ctx.loaders.members_by_project.load(
            (self.raw_id, ctx.page_args(first), decode_cursor(after))
        )
        if page is None:
            return Connection(
                edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None), total_count=0
            )
        return build_connection(
            [(m.id, ProjectMember.from_pb(m)) for m in page.members],
            has_next=page.page_info.has_next_page,
            total=page.page_info.total_count,
        )
