"""Accounts mutations: organizations, members, roles, invitations.

Each takes one input object and returns a payload with the result and `errors` for what the
user can fix; authorization failures are GraphQL errors with `extensions.code`."""

from __future__ import annotations

import strawberry

from trawl.graphql.accounts.types import Invitation, Member, Organization, OrgRole
from trawl.graphql.context import Context
from trawl.graphql.errors import UserError, UserInputError, payload_errors
from trawl.graphql.relay import raw_id
from trawl.grpc_services.clients import ServiceError
from trawl.grpc_services.gen.accounts.v1 import accounts_pb2 as pb

Failure = (ServiceError, UserInputError)


@strawberry.input
class CreateOrganizationInput:
    name: str
    slug: str | None = strawberry.field(
        default=None, description="Derived from the name if omitted."
    )


@strawberry.input
class UpdateOrganizationInput:
    id: strawberry.ID
    name: str | None = None
    slug: str | None = None


@strawberry.input
class InviteMemberInput:
    organization_id: strawberry.ID
    email: str
    role: OrgRole


@strawberry.input
class AcceptInvitationInput:
    token: str


@strawberry.input
class RevokeInvitationInput:
    id: strawberry.ID


@strawberry.input
class RemoveMemberInput:
    organization_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.input
class ChangeMemberRoleInput:
    organization_id: strawberry.ID
    user_id: strawberry.ID
    role: OrgRole


@strawberry.type
class OrganizationPayload:
    organization: Organization | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InviteMemberPayload:
    invitation: Invitation | None = None
    invitation_token: str | None = strawberry.field(
        default=None, description="Shown once: pass it to the invitee to accept."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InvitationPayload:
    invitation: Invitation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MemberPayload:
    member: Member | None = None
    organization: Organization | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemoveMemberPayload:
    removed_user_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _org_id(value: strawberry.ID) -> str:
    return raw_id(value, "Organization", "organizationId")


@strawberry.type
class AccountsMutation:
    @strawberry.mutation
    async def create_organization(
        self, info: strawberry.Info[Context, None], input: CreateOrganizationInput
    ) -> OrganizationPayload:
        ctx = info.context
        try:
            org = await ctx.call(
                ctx.clients.accounts,
                ctx.clients.accounts.stub.CreateOrganization,
                pb.CreateOrganizationRequest(name=input.name, slug=input.slug or ""),
            )
        except Failure as error:
            return OrganizationPayload(errors=payload_errors(error))
        return OrganizationPayload(organization=Organization.from_pb(org))

    @strawberry.mutation
    async def update_organization(
        self, info: strawberry.Info[Context, None], input: UpdateOrganizationInput
    ) -> OrganizationPayload:
        ctx = info.context
        try:
            request = pb.UpdateOrganizationRequest(id=raw_id(input.id, "Organization"))
            if input.name is not None:
                request.name = input.name
            if input.slug is not None:
                request.slug = input.slug
            org = await ctx.call(
                ctx.clients.accounts, ctx.clients.accounts.stub.UpdateOrganization, request
            )
        except Failure as error:
            return OrganizationPayload(errors=payload_errors(error))
        return OrganizationPayload(organization=Organization.from_pb(org))

    @strawberry.mutation
    async def invite_member(
        self, info: strawberry.Info[Context, None], input: InviteMemberInput
    ) -> InviteMemberPayload:
        ctx = info.context
        try:
            reply = await ctx.call(
                ctx.clients.accounts,
                ctx.clients.accounts.stub.InviteMember,
                pb.InviteMemberRequest(
                    organization_id=_org_id(input.organization_id),
                    email=input.email,
                    role=input.role.value,
                ),
            )
        except Failure as error:
            return InviteMemberPayload(errors=payload_errors(error))
        return InviteMemberPayload(
            invitation=Invitation.from_pb(reply.invitation), invitation_token=reply.token
        )

    @strawberry.mutation
    async def revoke_invitation(
        self, info: strawberry.Info[Context, None], input: RevokeInvitationInput
    ) -> InvitationPayload:
        ctx = info.context
        try:
            reply = await ctx.call(
                ctx.clients.accounts,
                ctx.clients.accounts.stub.RevokeInvitation,
                pb.RevokeInvitationRequest(id=raw_id(input.id, "Invitation")),
            )
        except Failure as error:
            return InvitationPayload(errors=payload_errors(error))
        return InvitationPayload(invitation=Invitation.from_pb(reply))

    @strawberry.mutation
    async def accept_invitation(
        self, info: strawberry.Info[Context, None], input: AcceptInvitationInput
    ) -> MemberPayload:
        ctx = info.context
        try:
            member = await ctx.call(
                ctx.clients.accounts,
                ctx.clients.accounts.stub.AcceptInvitation,
                pb.AcceptInvitationRequest(token=input.token),
            )
            org = await ctx.call(
                ctx.clients.accounts,
                ctx.clients.accounts.stub.GetOrganization,
                pb.GetOrganizationRequest(id=member.organization_id),
            )
        except Failure as error:
            return MemberPayload(errors=payload_errors(error))
        return MemberPayload(member=Member.from_pb(member), organization=Organization.from_pb(org))

    @strawberry.mutation
    async def remove_member(
        self, info: strawberry.Info[Context, None], input: RemoveMemberInput
    ) -> RemoveMemberPayload:
        ctx = info.context
        try:
            await ctx.call(
                ctx.clients.accounts,
                ctx.clients.accounts.stub.RemoveMember,
                pb.RemoveMemberRequest(
                    organization_id=_org_id(input.organization_id),
                    user_id=raw_id(input.user_id, "User", "userId"),
                ),
            )
        except Failure as error:
            return RemoveMemberPayload(errors=payload_errors(error))
        return RemoveMemberPayload(removed_user_id=input.user_id)

    @strawberry.mutation
    async def change_member_role(
        self, info: strawberry.Info[Context, None], input: ChangeMemberRoleInput
    ) -> MemberPayload:
        ctx = info.context
        try:
            member = await ctx.call(
                ctx.clients.accounts,
                ctx.clients.accounts.stub.ChangeMemberRole,
                pb.ChangeMemberRoleRequest(
                    organization_id=_org_id(input.organization_id),
                    user_id=raw_id(input.user_id, "User", "userId"),
                    role=input.role.value,
                ),
            )
        except Failure as error:
            return MemberPayload(errors=payload_errors(error))
        return MemberPayload(member=Member.from_pb(member))
