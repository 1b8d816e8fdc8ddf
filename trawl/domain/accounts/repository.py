"""Reads and writes of accounts rows. Every tenant-owned query takes the organization id
(already checked against the caller's memberships by the service)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain.accounts.models import Invitation, Organization, OrgMembership, OrgRole, User
from trawl.domain.pagination import Page, PageRequest


class AccountsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def organizations(self, org_ids: Sequence[str]) -> list[Organization]:
        if not org_ids:
            return []
        rows = await self.session.scalars(
            select(Organization).where(Organization.id.in_(org_ids)).order_by(Organization.id)
        )
        return list(rows)

    async def organization(self, org_id: str) -> Organization | None:
        return await self.session.get(Organization, org_id)

    async def slug_taken(self, slug: str, *, except_org: str | None = None) -> bool:
        stmt = select(Organization.id).where(Organization.slug == slug)
        if except_org:
            stmt = stmt.where(Organization.id != except_org)
        return (await self.session.scalar(stmt)) is not None

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)

    async def flush(self) -> None:
        await self.session.flush()

    async def membership(self, org_id: str, user_id: str) -> OrgMembership | None:
        return await self.session.scalar(
            select(OrgMembership).where(
                OrgMembership.organization_id == org_id, OrgMembership.user_id == user_id
            )
        )

    async def lock_owner_ids(self, org_id: str) -> list[str]:
        """Owner user ids, locked: two concurrent demotions cannot both see 'another owner'."""
        rows = await self.session.scalars(
            select(OrgMembership.user_id)
            .where(OrgMembership.organization_id == org_id, OrgMembership.role == OrgRole.OWNER)
            .with_for_update()
        )
        return list(rows)

    async def members(self, org_id: str, page: PageRequest) -> Page[tuple[OrgMembership, User]]:
        base = select(OrgMembership, User).join(User, User.id == OrgMembership.user_id)
        base = base.where(OrgMembership.organization_id == org_id)
        stmt = base.order_by(OrgMembership.id).limit(page.limit + 1)
        if page.after:
            stmt = stmt.where(OrgMembership.id > page.after)
        rows = [(m, u) for m, u in (await self.session.execute(stmt)).all()]
        total = await self.session.scalar(
            select(func.count())
            .select_from(OrgMembership)
            .where(OrgMembership.organization_id == org_id)
        )
        return Page(items=rows[: page.limit], has_next=len(rows) > page.limit, total=total or 0)

    async def memberships_of(self, user_id: str, org_ids: Sequence[str]) -> list[OrgMembership]:
        if not org_ids:
            return []
        rows = await self.session.scalars(
            select(OrgMembership)
            .where(OrgMembership.user_id == user_id, OrgMembership.organization_id.in_(org_ids))
            .order_by(OrgMembership.organization_id)
        )
        return list(rows)

    async def users_in_orgs(self, user_ids: Sequence[str], org_ids: Sequence[str]) -> list[User]:
        """Users the caller may see: those sharing one of the caller's organizations."""
        if not user_ids or not org_ids:
            return []
        shared = select(OrgMembership.user_id).where(
            OrgMembership.organization_id.in_(org_ids), OrgMembership.user_id.in_(user_ids)
        )
        rows = await self.session.scalars(select(User).where(User.id.in_(shared)))
        return list(rows)

    async def invitation_by_token_hash(self, token_hash: str) -> Invitation | None:
        # The token itself is the capability: this lookup is deliberately not tenant-scoped.
        return await self.session.scalar(
            select(Invitation)
            .where(Invitation.token_hash == token_hash)
            .execution_options(tenant_unscoped=True)
        )

    async def invitation(self, org_ids: Sequence[str], invitation_id: str) -> Invitation | None:
        return await self.session.scalar(
            select(Invitation).where(
                Invitation.id == invitation_id, Invitation.organization_id.in_(org_ids)
            )
        )

    async def pending_invitations_for(self, org_id: str, email: str) -> list[Invitation]:
        rows = await self.session.scalars(
            select(Invitation).where(
                Invitation.organization_id == org_id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
        )
        return list(rows)

    async def invitations(self, org_id: str, page: PageRequest) -> Page[Invitation]:
        stmt = select(Invitation).where(
            Invitation.organization_id == org_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        count_stmt = select(func.count()).select_from(stmt.subquery())
        if page.after:
            stmt = stmt.where(Invitation.id > page.after)
        rows = list(await self.session.scalars(stmt.order_by(Invitation.id).limit(page.limit + 1)))
        total = await self.session.scalar(count_stmt)
        return Page(items=rows[: page.limit], has_next=len(rows) > page.limit, total=total or 0)

    async def user_is_member(self, org_id: str, user_id: str) -> bool:
        return (await self.membership(org_id, user_id)) is not None

    async def users_by_email_in_org(self, org_id: str, email: str) -> list[User]:
        rows = await self.session.scalars(
            select(User)
            .join(OrgMembership, OrgMembership.user_id == User.id)
            .where(OrgMembership.organization_id == org_id, User.email == email)
        )
        return list(rows)
