"""Who the verified caller is in our database: their user row and their org roles.

Built once per request from the verified Principal; roles are read from the database so a
role change applies on the next request. A token bound to one organization narrows the
caller to that organization whatever their other memberships."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain.accounts.models import MachineClient, OrgMembership, OrgRole, User
from trawl.domain.db import scope_session
from trawl.domain.errors import NotFound
from trawl.tenants.principal import Principal


@dataclass(slots=True)
class Actor:
    principal: Principal
    user: User
    org_roles: dict[str, OrgRole] = field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def org_ids(self) -> list[str]:
        return list(self.org_roles)

    def org_role(self, org_id: str) -> OrgRole | None:
        return self.org_roles.get(org_id)

    def require_member(self, org_id: str) -> OrgRole:
        """Another organization's id looks exactly like an id that does not exist."""
        role = self.org_roles.get(org_id)
        if role is None:
            raise NotFound(f"organization {org_id} not found")
        return role


async def resolve_actor(session: AsyncSession, principal: Principal) -> Actor:
    user = await _provision_user(session, principal)
    if principal.is_machine:
        roles = await _machine_roles(session, principal)
    else:
        rows = await session.execute(
            select(OrgMembership.organization_id, OrgMembership.role).where(
                OrgMembership.user_id == user.id
            )
        )
        roles = {org_id: OrgRole(role) for org_id, role in rows.all()}
    if principal.org_id is not None:
        roles = {k: v for k, v in roles.items() if k == principal.org_id}
    scope_session(session, roles.keys())
    return Actor(principal=principal, user=user, org_roles=roles)


async def _machine_roles(session: AsyncSession, principal: Principal) -> dict[str, OrgRole]:
    client = await session.scalar(
        select(MachineClient).where(MachineClient.client_subject == principal.subject)
    )
    if client is None:
        return {}
    return {client.organization_id: OrgRole(client.role)}


async def _provision_user(session: AsyncSession, principal: Principal) -> User:
    user = await session.scalar(select(User).where(User.subject == principal.subject))
    if user is not None:
        if principal.email and user.email != principal.email.lower():
            user.email = principal.email.lower()
        return user
    user = User(
        subject=principal.subject, email=principal.email.lower() if principal.email else None
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:
        # A concurrent first request created it; theirs wins.
        user = await session.scalar(select(User).where(User.subject == principal.subject))
        if user is None:
            raise
    return user
