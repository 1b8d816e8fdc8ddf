"""Accounts mutations: organizations, members, roles, invitations.

Each takes one input object and returns a payload with the result and `errors` for what the
user can fix; authorization failures are GraphQL errors with `extensions.code`."""

from __future__ import annotations

import strawberry

from trawl.graphql.accounts.types import Invitation, Member, Organization, OrgRole
from trawl.graphql.context import Context
from trawl.graphql.errors import UserError
from trawl.graphql.mutation import payload_or_errors
from trawl.graphql.relay import raw_id
from trawl.grpc_services.gen.accounts.v1 import accounts_pb2 as pb


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


async def _create_org(ctx: Context, input: CreateOrganizationInput) -> OrganizationPayload:
    accounts = ctx.clients.accounts
    org = await ctx.call(
        accounts,
        accounts.stub.CreateOrganization,
        pb.CreateOrganizationRequest(name=input.name, slug=input.slug or ""),
    )
    return OrganizationPayload(organization=Organization.from_pb(org))


async def _update_org(ctx: Context, input: UpdateOrganizationInput) -> OrganizationPayload:
    request = pb.UpdateOrganizationRequest(id=raw_id(input.id, "Organization"))
    if input.name is not None:
        request.name = input.name
    if input.slug is not None:
        request.slug = input.slug
    accounts = ctx.clients.accounts
    org = await ctx.call(accounts, accounts.stub.UpdateOrganization, request)
    return OrganizationPayload(organization=Organization.from_pb(org))


async def _invite_member(ctx: Context, input: InviteMemberInput) -> InviteMemberPayload:
    request = pb.InviteMemberRequest(
        organization_id=_org_id(input.organization_id), email=input.email, role=input.role.value
    )
    accounts = ctx.clients.accounts
    reply = await ctx.call(accounts, accounts.stub.InviteMember, request)
    return InviteMemberPayload(
        invitation=Invitation.from_pb(reply.invitation), invitation_token=reply.token
    )


async def _revoke_invitation(ctx: Context, input: RevokeInvitationInput) -> InvitationPayload:
    request = pb.RevokeInvitationRequest(id=raw_id(input.id, "Invitation"))
    accounts = ctx.clients.accounts
    reply = await ctx.call(accounts, accounts.stub.RevokeInvitation, request)
    return InvitationPayload(invitation=Invitation.from_pb(reply))


async def _accept_invitation(ctx: Context, input: AcceptInvitationInput) -> MemberPayload:
    accounts = ctx.clients.accounts
    member = await ctx.call(
        accounts, accounts.stub.AcceptInvitation, pb.AcceptInvitationRequest(token=input.token)
    )
    org = await ctx.call(
        accounts,
        accounts.stub.GetOrganization,
        pb.GetOrganizationRequest(id=member.organization_id),
    )
    return MemberPayload(member=Member.from_pb(member), organization=Organization.from_pb(org))


async def _remove_member(ctx: Context, input: RemoveMemberInput) -> RemoveMemberPayload:
    request = pb.RemoveMemberRequest(
        organization_id=_org_id(input.organization_id),
        user_id=raw_id(input.user_id, "User", "userId"),
    )
    accounts = ctx.clients.accounts
    await ctx.call(accounts, accounts.stub.RemoveMember, request)
    return RemoveMemberPayload(removed_user_id=input.user_id)


async def _change_member_role(ctx: Context, input: ChangeMemberRoleInput) -> MemberPayload:
    request = pb.ChangeMemberRoleRequest(
        organization_id=_org_id(input.organization_id),
        user_id=raw_id(input.user_id, "User", "userId"),
        role=input.role.value,
    )
    accounts = ctx.clients.accounts
    member = await ctx.call(accounts, accounts.stub.ChangeMemberRole, request)
    return MemberPayload(member=Member.from_pb(member))


@strawberry.type
class AccountsMutation:
    @strawberry.mutation
    async def create_organization(
        self, info: strawberry.Info[Context, None], input: CreateOrganizationInput
    ) -> OrganizationPayload:
        return await payload_or_errors(OrganizationPayload, _create_org(info.context, input))

    @strawberry.mutation
    async def update_organization(
        self, info: strawberry.Info[Context, None], input: UpdateOrganizationInput
    ) -> OrganizationPayload:
        return await payload_or_errors(OrganizationPayload, _update_org(info.context, input))

    @strawberry.mutation
    async def invite_member(
        self, info: strawberry.Info[Context, None], input: InviteMemberInput
    ) -> InviteMemberPayload:
        return await payload_or_errors(InviteMemberPayload, _invite_member(info.context, input))

    @strawberry.mutation
    async def revoke_invitation(
        self, info: strawberry.Info[Context, None], input: RevokeInvitationInput
    ) -> InvitationPayload:
        return await payload_or_errors(InvitationPayload, _revoke_invitation(info.context, input))

    @strawberry.mutation
    async def accept_invitation(
        self, info: strawberry.Info[Context, None], input: AcceptInvitationInput
    ) -> MemberPayload:
        return await payload_or_errors(MemberPayload, _accept_invitation(info.context, input))

    @strawberry.mutation
    async def remove_member(
        self, info: strawberry.Info[Context, None], input: RemoveMemberInput
    ) -> RemoveMemberPayload:
        return await payload_or_errors(RemoveMemberPayload, _remove_member(info.context, input))

    @strawberry.mutation
    async def change_member_role(
        self, info: strawberry.Info[Context, None], input: ChangeMemberRoleInput
    ) -> MemberPayload:
        return await payload_or_errors(MemberPayload, _change_member_role(info.context, input))
