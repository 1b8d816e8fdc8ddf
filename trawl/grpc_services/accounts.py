"""AccountsService servicer: proto ⇄ AccountsService calls, nothing else."""

from __future__ import annotations

from datetime import timedelta

import grpc
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain.access import Actor
from trawl.domain.accounts.models import Invitation, Organization, OrgMembership, OrgRole, User
from trawl.domain.accounts.service import AccountsService
from trawl.domain.errors import InvalidInput
from trawl.grpc_services.base import ServicerBase, page_info, timestamp
from trawl.grpc_services.gen.accounts.v1 import accounts_pb2 as pb
from trawl.grpc_services.gen.accounts.v1 import accounts_pb2_grpc

ROLE_TO_PB = {
    OrgRole.OWNER: pb.ORG_ROLE_OWNER,
    OrgRole.ADMIN: pb.ORG_ROLE_ADMIN,
    OrgRole.MEMBER: pb.ORG_ROLE_MEMBER,
    OrgRole.BILLING: pb.ORG_ROLE_BILLING,
}
PB_TO_ROLE: dict[int, OrgRole] = {int(v): k for k, v in ROLE_TO_PB.items()}


def role_from_pb(value: int) -> str:
    if value not in PB_TO_ROLE:
        raise InvalidInput("role", "a role is required: OWNER, ADMIN, MEMBER or BILLING")
    return PB_TO_ROLE[value].value


def user_pb(user: User) -> pb.User:
    return pb.User(
        id=user.id,
        email=user.email or "",
        display_name=user.display_name or "",
        created_at=timestamp(user.created_at),
    )


def org_pb(org: Organization, actor: Actor) -> pb.Organization:
    role = actor.org_role(org.id)
    return pb.Organization(
        id=org.id,
        name=org.name,
        slug=org.slug,
        created_at=timestamp(org.created_at),
        viewer_role=ROLE_TO_PB[role] if role else pb.ORG_ROLE_UNSPECIFIED,
    )


def member_pb(membership: OrgMembership, user: User) -> pb.Member:
    return pb.Member(
        id=membership.id,
        organization_id=membership.organization_id,
        user=user_pb(user),
        role=ROLE_TO_PB[OrgRole(membership.role)],
        joined_at=timestamp(membership.created_at),
    )


def invitation_pb(invitation: Invitation) -> pb.Invitation:
    return pb.Invitation(
        id=invitation.id,
        organization_id=invitation.organization_id,
        email=invitation.email,
        role=ROLE_TO_PB[OrgRole(invitation.role)],
        expires_at=timestamp(invitation.expires_at),
        created_at=timestamp(invitation.created_at),
        invited_by_user_id=invitation.invited_by or "",
    )


class AccountsServicer(ServicerBase, accounts_pb2_grpc.AccountsServiceServicer):
    def _service(self, session: AsyncSession) -> AccountsService:
        ttl = timedelta(hours=self.settings.invitation_ttl_hours)
        return AccountsService(session, invitation_ttl=ttl)

    async def GetViewer(
        self, request: pb.GetViewerRequest, context: grpc.aio.ServicerContext
    ) -> pb.Viewer:
        async with self.unit() as (session, actor):
            rows = await self._service(session).viewer_memberships(actor)
            return pb.Viewer(
                user=user_pb(actor.user),
                is_staff=actor.principal.is_staff,
                is_machine=actor.principal.is_machine,
                token_organization_id=actor.principal.org_id or "",
                memberships=[member_pb(m, actor.user) for m, _ in rows],
                organizations=[org_pb(o, actor) for _, o in rows],
            )

    async def BatchGetUsers(
        self, request: pb.BatchGetUsersRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetUsersResponse:
        async with self.unit() as (session, actor):
            users = await self._service(session).users(actor, list(request.ids))
            return pb.BatchGetUsersResponse(users=[user_pb(u) for u in users])

    async def GetOrganization(
        self, request: pb.GetOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Organization:
        async with self.unit() as (session, actor):
            return org_pb(await self._service(session).organization(actor, request.id), actor)

    async def BatchGetOrganizations(
        self, request: pb.BatchGetOrganizationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetOrganizationsResponse:
        async with self.unit() as (session, actor):
            orgs = await self._service(session).organizations(actor, list(request.ids))
            return pb.BatchGetOrganizationsResponse(organizations=[org_pb(o, actor) for o in orgs])

    async def CreateOrganization(
        self, request: pb.CreateOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Organization:
        async with self.unit() as (session, actor):
            org = await self._service(session).create_organization(
                actor, request.name, request.slug or None
            )
            return org_pb(org, actor)

    async def UpdateOrganization(
        self, request: pb.UpdateOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Organization:
        async with self.unit() as (session, actor):
            org = await self._service(session).update_organization(
                actor,
                request.id,
                request.name if request.HasField("name") else None,
                request.slug if request.HasField("slug") else None,
            )
            return org_pb(org, actor)

    async def ListMembers(
        self, request: pb.ListMembersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMembersResponse:
        async with self.unit() as (session, actor):
            page = await self._service(session).members(
                actor, request.organization_id, self.page(request.page)
            )
            return pb.ListMembersResponse(
                members=[member_pb(m, u) for m, u in page.items],
                page_info=page_info(page),  # type: ignore[arg-type]
            )

    async def ChangeMemberRole(
        self, request: pb.ChangeMemberRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.Member:
        async with self.unit() as (session, actor):
            membership, user = await self._service(session).change_member_role(
                actor, request.organization_id, request.user_id, role_from_pb(request.role)
            )
            return member_pb(membership, user)

    async def RemoveMember(
        self, request: pb.RemoveMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveMemberResponse:
        async with self.unit() as (session, actor):
            await self._service(session).remove_member(
                actor, request.organization_id, request.user_id
            )
            return pb.RemoveMemberResponse()

    async def InviteMember(
        self, request: pb.InviteMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.InviteMemberResponse:
        async with self.unit() as (session, actor):
            issued = await self._service(session).invite_member(
                actor, request.organization_id, request.email, role_from_pb(request.role)
            )
            return pb.InviteMemberResponse(
                invitation=invitation_pb(issued.invitation), token=issued.token
            )

    async def ListInvitations(
        self, request: pb.ListInvitationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInvitationsResponse:
        async with self.unit() as (session, actor):
            page = await self._service(session).invitations(
                actor, request.organization_id, self.page(request.page)
            )
            return pb.ListInvitationsResponse(
                invitations=[invitation_pb(i) for i in page.items],
                page_info=page_info(page),  # type: ignore[arg-type]
            )

    async def RevokeInvitation(
        self, request: pb.RevokeInvitationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Invitation:
        async with self.unit() as (session, actor):
            return invitation_pb(await self._service(session).revoke_invitation(actor, request.id))

    async def AcceptInvitation(
        self, request: pb.AcceptInvitationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Member:
        async with self.unit() as (session, actor):
            membership, _org = await self._service(session).accept_invitation(actor, request.token)
            return member_pb(membership, actor.user)
