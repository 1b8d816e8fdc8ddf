"""GraphQL types of the accounts domain, built from AccountsService replies."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from trawl.graphql.audit.queries import organization_audit_log
from trawl.graphql.context import Context
from trawl.graphql.node import Node
from trawl.graphql.relay import Connection, build_connection, decode_cursor, to_global_id
from trawl.graphql.runs.limits import organization_run_limit
from trawl.graphql.scalars import required_datetime
from trawl.grpc_services.gen.accounts.v1 import accounts_pb2 as pb
from trawl.grpc_services.gen.common.v1 import common_pb2
from trawl.grpc_services.gen.projects.v1 import projects_pb2

if TYPE_CHECKING:
    from trawl.graphql.projects.types import Project


@strawberry.enum
class OrgRole(Enum):
    OWNER = pb.ORG_ROLE_OWNER
    ADMIN = pb.ORG_ROLE_ADMIN
    MEMBER = pb.ORG_ROLE_MEMBER
    BILLING = pb.ORG_ROLE_BILLING


def org_role(value: int) -> OrgRole | None:
    return OrgRole(value) if value else None


@strawberry.type
class User(Node):
    raw_id: strawberry.Private[str]
    email: str | None
    display_name: str | None
    created_at: datetime

    @classmethod
    def from_pb(cls, user: pb.User) -> User:
        return cls(
            id=to_global_id("User", user.id),
            raw_id=user.id,
            email=user.email or None,
            display_name=user.display_name or None,
            created_at=required_datetime(user, "created_at"),
        )


@strawberry.type
class Member:
    """A user's membership of an organization."""

    user: User
    role: OrgRole
    joined_at: datetime

    @classmethod
    def from_pb(cls, member: pb.Member) -> Member:
        return cls(
            user=User.from_pb(member.user),
            role=OrgRole(member.role),
            joined_at=required_datetime(member, "joined_at"),
        )


@strawberry.type
class Invitation:
    id: strawberry.ID
    email: str
    role: OrgRole
    expires_at: datetime
    created_at: datetime

    @classmethod
    def from_pb(cls, invitation: pb.Invitation) -> Invitation:
        return cls(
            id=to_global_id("Invitation", invitation.id),
            email=invitation.email,
            role=OrgRole(invitation.role),
            expires_at=required_datetime(invitation, "expires_at"),
            created_at=required_datetime(invitation, "created_at"),
        )


@strawberry.type
class Organization(Node):
    raw_id: strawberry.Private[str]
    name: str
    slug: str
    created_at: datetime
    viewer_role: OrgRole | None = strawberry.field(
        description="The caller's role in this organization."
    )
    audit_log = strawberry.field(resolver=organization_audit_log)
    run_limit = strawberry.field(resolver=organization_run_limit)

    @classmethod
    def from_pb(cls, org: pb.Organization) -> Organization:
        return cls(
            id=to_global_id("Organization", org.id),
            raw_id=org.id,
            name=org.name,
            slug=org.slug,
            created_at=required_datetime(org, "created_at"),
            viewer_role=org_role(org.viewer_role),
        )

    @strawberry.field
    async def members(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Member]:
        ctx = info.context
        accounts = ctx.clients.accounts
        reply = await ctx.query(
            accounts,
            accounts.stub.ListMembers,
            pb.ListMembersRequest(
                organization_id=self.raw_id,
                page=common_pb2.PageRequest(first=ctx.page_args(first), after=decode_cursor(after)),
            ),
        )
        return build_connection(
            [(m.id, Member.from_pb(m)) for m in reply.members],
            has_next=reply.page_info.has_next_page,
            total=reply.page_info.total_count,
        )

    @strawberry.field
    async def invitations(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Invitation]:
        """Pending invitations (owners and admins)."""
        ctx = info.context
        accounts = ctx.clients.accounts
        reply = await ctx.query(
            accounts,
            accounts.stub.ListInvitations,
            pb.ListInvitationsRequest(
                organization_id=self.raw_id,
                page=common_pb2.PageRequest(first=ctx.page_args(first), after=decode_cursor(after)),
            ),
        )
        return build_connection(
            [(i.id, Invitation.from_pb(i)) for i in reply.invitations],
            has_next=reply.page_info.has_next_page,
            total=reply.page_info.total_count,
        )

    @strawberry.field
    async def projects(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Project, strawberry.lazy("trawl.graphql.projects.types")]]:
        from trawl.graphql.projects.types import Project

        ctx = info.context
        projects = ctx.clients.projects
        reply = await ctx.query(
            projects,
            projects.stub.ListProjects,
            projects_pb2.ListProjectsRequest(
                organization_id=self.raw_id,
                page=common_pb2.PageRequest(first=ctx.page_args(first), after=decode_cursor(after)),
            ),
        )
        for project in reply.projects:
            ctx.loaders.project_by_id.prime(project.id, project)
        return build_connection(
            [(p.id, Project.from_pb(p)) for p in reply.projects],
            has_next=reply.page_info.has_next_page,
            total=reply.page_info.total_count,
        )


@strawberry.type
class Viewer:
    user: User
    is_staff: bool
    is_machine: bool
    organizations: list[Organization]
    token_organization: Organization | None = strawberry.field(
        description="The organization the token is bound to, if any."
    )
