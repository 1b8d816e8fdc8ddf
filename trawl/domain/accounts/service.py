"""Rules of organizations, members, roles and invitations. Never commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain import events, validation
from trawl.domain.access import Actor
from trawl.domain.accounts.models import Invitation, Organization, OrgMembership, OrgRole, User
from trawl.domain.accounts.repository import AccountsRepository
from trawl.domain.db import utcnow
from trawl.domain.errors import Conflict, NotFound, PermissionDenied, PreconditionFailed
from trawl.domain.pagination import Page, PageRequest
from trawl.domain.projects.repository import ProjectsRepository
from trawl.tenants.permissions import OrgAction, require_org

LAST_OWNER = "an organization must keep at least one owner"


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once, to the inviter; only its hash is stored


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountsService:
    def __init__(self, session: AsyncSession, *, invitation_ttl: timedelta) -> None:
        self.repo = AccountsRepository(session)
        self.projects = ProjectsRepository(session)
        self.invitation_ttl = invitation_ttl

    async def viewer_memberships(self, actor: Actor) -> list[tuple[OrgMembership, Organization]]:
        memberships = await self.repo.memberships_of(actor.user_id, actor.org_ids)
        orgs = {
            o.id: o for o in await self.repo.organizations([m.organization_id for m in memberships])
        }
        return [(m, orgs[m.organization_id]) for m in memberships]

    async def organizations(self, actor: Actor, org_ids: list[str]) -> list[Organization]:
        visible = [i for i in org_ids if actor.org_role(i) is not None]
        return await self.repo.organizations(visible)

    async def organization(self, actor: Actor, org_id: str) -> Organization:
        actor.require_member(org_id)
        org = await self.repo.organization(org_id)
        if org is None:
            raise NotFound(f"organization {org_id} not found")
        return org

    async def create_organization(self, actor: Actor, name: str, slug: str | None) -> Organization:
        if actor.principal.is_machine:
            raise PermissionDenied("machine clients cannot create organizations")
        if actor.principal.org_id is not None:
            raise PermissionDenied(
                "this token is bound to one organization; create organizations with a token "
                "that is not bound to an organization"
            )
        clean_name = validation.text("name", name, max_len=200)
        clean_slug = validation.slug("slug", slug) if slug else validation.slugify(clean_name)
        if await self.repo.slug_taken(clean_slug):
            if slug:
                raise Conflict(f"the slug '{clean_slug}' is already taken", field="slug")
            clean_slug = f"{clean_slug[:55]}-{secrets.token_hex(3)}"
        org = Organization(name=clean_name, slug=clean_slug, created_by=actor.user_id)
        self.repo.add(org)
        await self.repo.flush()
        self.repo.add(
            OrgMembership(organization_id=org.id, user_id=actor.user_id, role=OrgRole.OWNER)
        )
        await self.repo.flush()
        actor.org_roles[org.id] = OrgRole.OWNER
        events.emit(
            self.repo.session, actor, events.ORGANIZATION_CREATED, org.id, {"name": org.name}
        )
        return org

    async def update_organization(
        self, actor: Actor, org_id: str, name: str | None, slug: str | None
    ) -> Organization:
        require_org(actor.require_member(org_id), OrgAction.UPDATE)
        org = await self.organization(actor, org_id)
        if name is not None:
            org.name = validation.text("name", name, max_len=200)
        if slug is not None:
            clean_slug = validation.slug("slug", slug)
            if await self.repo.slug_taken(clean_slug, except_org=org.id):
                raise Conflict(f"the slug '{clean_slug}' is already taken", field="slug")
            org.slug = clean_slug
        org.updated_at = utcnow()
        await self.repo.flush()
        events.emit(
            self.repo.session,
            actor,
            events.ORGANIZATION_UPDATED,
            org.id,
            {"name": org.name, "slug": org.slug},
        )
        return org

    async def members(
        self, actor: Actor, org_id: str, page: PageRequest
    ) -> Page[tuple[OrgMembership, User]]:
        require_org(actor.require_member(org_id), OrgAction.LIST_MEMBERS)
        return await self.repo.members(org_id, page)

    async def users(self, actor: Actor, user_ids: list[str]) -> list[User]:
        found = await self.repo.users_in_orgs(user_ids, actor.org_ids)
        if actor.user_id in user_ids and all(u.id != actor.user_id for u in found):
            found.append(actor.user)
        return found

    async def invite_member(
        self, actor: Actor, org_id: str, email: str, role: str
    ) -> IssuedInvitation:
        caller_role = actor.require_member(org_id)
        require_org(caller_role, OrgAction.INVITE_MEMBER)
        clean_email = validation.email("email", email)
        new_role = validation.enum_value("role", role, OrgRole)
        if new_role == OrgRole.OWNER:
            require_org(caller_role, OrgAction.GRANT_OWNER)
        existing = await self.repo.users_by_email_in_org(org_id, clean_email)
        if existing:
            raise Conflict(f"{clean_email} is already a member of this organization", field="email")
        now = utcnow()
        for old in await self.repo.pending_invitations_for(org_id, clean_email):
            old.revoked_at = now  # a new invitation replaces any pending one
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            organization_id=org_id,
            email=clean_email,
            role=new_role,
            token_hash=hash_token(token),
            expires_at=now + self.invitation_ttl,
            invited_by=actor.user_id,
        )
        self.repo.add(invitation)
        await self.repo.flush()
        events.emit(
            self.repo.session,
            actor,
            events.MEMBER_INVITED,
            org_id,
            {"invitationId": invitation.id, "email": clean_email, "role": new_role.value},
        )
        return IssuedInvitation(invitation=invitation, token=token)

    async def invitations(self, actor: Actor, org_id: str, page: PageRequest) -> Page[Invitation]:
        require_org(actor.require_member(org_id), OrgAction.MANAGE_INVITATIONS)
        return await self.repo.invitations(org_id, page)

    async def revoke_invitation(self, actor: Actor, invitation_id: str) -> Invitation:
        invitation = await self.repo.invitation(actor.org_ids, invitation_id)
        if invitation is None:
            raise NotFound(f"invitation {invitation_id} not found")
        require_org(actor.require_member(invitation.organization_id), OrgAction.MANAGE_INVITATIONS)
        if invitation.accepted_at is not None:
            raise PreconditionFailed("this invitation was already accepted")
        invitation.revoked_at = invitation.revoked_at or utcnow()
        await self.repo.flush()
        return invitation

    async def accept_invitation(
        self, actor: Actor, token: str
    ) -> tuple[OrgMembership, Organization]:
        invitation = await self.repo.invitation_by_token_hash(hash_token(token.strip()))
        if invitation is None:
            raise NotFound("no invitation matches this token")
        self._check_acceptable(actor, invitation)
        org_id = invitation.organization_id
        if await self.repo.membership(org_id, actor.user_id) is not None:
            raise Conflict("you are already a member of this organization")
        membership = OrgMembership(
            organization_id=org_id, user_id=actor.user_id, role=invitation.role
        )
        invitation.accepted_at = utcnow()
        invitation.accepted_by = actor.user_id
        self.repo.add(membership)
        await self.repo.flush()
        org = await self.repo.organization(org_id)
        assert org is not None  # FK: an invitation cannot outlive its organization
        actor.org_roles[org_id] = OrgRole(invitation.role)
        events.emit(
            self.repo.session,
            actor,
            events.MEMBER_ADDED,
            org_id,
            {"userId": actor.user_id, "role": invitation.role, "invitationId": invitation.id},
        )
        return membership, org

    def _check_acceptable(self, actor: Actor, invitation: Invitation) -> None:
        if actor.principal.is_machine:
            raise PermissionDenied("machine clients cannot accept invitations")
        bound = actor.principal.org_id
        if bound is not None and bound != invitation.organization_id:
            raise PermissionDenied("this token is bound to another organization")
        if invitation.revoked_at is not None:
            raise PreconditionFailed("this invitation was revoked; ask for a new one")
        if invitation.accepted_at is not None:
            raise PreconditionFailed("this invitation was already accepted")
        if invitation.expires_at <= utcnow():
            raise PreconditionFailed("this invitation has expired; ask for a new one")
        caller_email = (actor.principal.email or actor.user.email or "").lower()
        if caller_email != invitation.email:
            raise PermissionDenied(
                f"this invitation was sent to {_mask(invitation.email)}; sign in with that address"
            )

    async def remove_member(self, actor: Actor, org_id: str, user_id: str) -> None:
        caller_role = actor.require_member(org_id)
        if user_id != actor.user_id:
            require_org(caller_role, OrgAction.REMOVE_MEMBER)
        target = await self._target(org_id, user_id)
        if target.role == OrgRole.OWNER:
            if user_id != actor.user_id:
                require_org(caller_role, OrgAction.GRANT_OWNER)
            if await self.repo.lock_owner_ids(org_id) == [user_id]:
                raise PreconditionFailed(LAST_OWNER)
        await self.projects.remove_user_from_org_projects(org_id, user_id)
        await self.repo.session.delete(target)
        await self.repo.flush()
        events.emit(self.repo.session, actor, events.MEMBER_REMOVED, org_id, {"userId": user_id})

    async def change_member_role(
        self, actor: Actor, org_id: str, user_id: str, role: str
    ) -> tuple[OrgMembership, User]:
        caller_role = actor.require_member(org_id)
        require_org(caller_role, OrgAction.CHANGE_MEMBER_ROLE)
        new_role = validation.enum_value("role", role, OrgRole)
        target = await self._target(org_id, user_id)
        if OrgRole.OWNER in (new_role, target.role):
            require_org(caller_role, OrgAction.GRANT_OWNER)
        demoting_owner = target.role == OrgRole.OWNER and new_role != OrgRole.OWNER
        if demoting_owner and await self.repo.lock_owner_ids(org_id) == [user_id]:
            raise PreconditionFailed(LAST_OWNER)
        previous = target.role
        target.role = new_role
        await self.repo.flush()
        events.emit(
            self.repo.session,
            actor,
            events.MEMBER_ROLE_CHANGED,
            org_id,
            {"userId": user_id, "role": new_role.value, "previousRole": previous},
        )
        user = await self.repo.session.get(User, user_id)
        assert user is not None
        return target, user

    async def _target(self, org_id: str, user_id: str) -> OrgMembership:
        target = await self.repo.membership(org_id, validation.entity_id("userId", user_id))
        if target is None:
            raise NotFound(f"user {user_id} is not a member of this organization")
        return target


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
