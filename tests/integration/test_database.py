"""The accounts and projects schema on real databases (SQLite and MariaDB), migrated by
Alembic: constraints, cascades, the tenant-scoping second lock, UTC datetimes, and the
service rules that depend on the database (last owner under concurrency, invitations,
a constant number of statements for batched project members)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import delete, event, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tests.servers import create_database, drop_database, require_mariadb_url
from trawl.domain.access import Actor, resolve_actor
from trawl.domain.accounts.models import (
    Invitation,
    MachineClient,
    Organization,
    OrgMembership,
    OrgRole,
    User,
)
from trawl.domain.accounts.service import AccountsService
from trawl.domain.db import Base, Database, TenantOwned, make_engine, scope_session
from trawl.domain.errors import PermissionDenied, PreconditionFailed
from trawl.domain.migrate import alembic_config, upgrade_to_head
from trawl.domain.pagination import PageRequest
from trawl.domain.projects.models import Project, ProjectMembership, ProjectRole
from trawl.domain.projects.service import ProjectsService
from trawl.tenants.principal import Principal

T = TypeVar("T")

TENANT_TABLES = {
    m.class_.__tablename__ for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)
}
INVITATION_TTL = timedelta(days=7)


@dataclass
class Backend:
    name: str
    db: Database
    new_database: Callable[[], Awaitable[str]]
    """An empty, unmigrated database of the same backend, dropped with the module."""


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
async def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    backend: str = request.param
    scratch: list[str] = []
    if backend == "sqlite":
        directory: Path = tmp_path_factory.mktemp("db")

        async def new_database() -> str:
            return f"sqlite+aiosqlite:///{directory / f'{uuid.uuid4().hex}.db'}"

    else:
        base = require_mariadb_url()

        async def new_database() -> str:
            name = f"trawl_db_{uuid.uuid4().hex[:12]}"
            scratch.append(name)
            return await create_database(base, name)

    url = await new_database()
    await asyncio.to_thread(upgrade_to_head, url)
    database = Database.from_url(url)
    yield Backend(name=backend, db=database, new_database=new_database)
    await database.dispose()
    for name in scratch:
        await drop_database(base, name)


# -- factories -------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def principal_for(user: User) -> Principal:
    return Principal(subject=user.subject, email=user.email)


async def make_user(session: AsyncSession) -> User:
    name = unique("user")
    user = User(subject=f"auth0|{name}", email=f"{name}@example.com")
    session.add(user)
    await session.flush()
    return user


async def make_org(session: AsyncSession, *owners: User) -> Organization:
    org = Organization(name="Acme", slug=unique("org"))
    session.add(org)
    await session.flush()
    for owner in owners:
        session.add(OrgMembership(organization_id=org.id, user_id=owner.id, role=OrgRole.OWNER))
    await session.flush()
    return org


async def make_project(
    session: AsyncSession, org: Organization, *members: User, name: str | None = None
) -> Project:
    project = Project(organization_id=org.id, name=name or unique("project"))
    session.add(project)
    await session.flush()
    for user in members:
        session.add(
            ProjectMembership(
                organization_id=org.id,
                project_id=project.id,
                user_id=user.id,
                role=ProjectRole.VIEWER,
            )
        )
    await session.flush()
    return project


async def as_actor(
    db: Backend, user: User, action: Callable[[AsyncSession, Actor], Awaitable[T]]
) -> T:
    """Run `action` in its own transaction, as the given user, like one request."""
    async with db.db.transaction() as session:
        return await action(session, await resolve_actor(session, principal_for(user)))


async def owner_ids(db: Backend, org_id: str) -> set[str]:
    async with db.db.transaction() as session:
        rows = await session.scalars(
            select(OrgMembership.user_id).where(
                OrgMembership.organization_id == org_id, OrgMembership.role == OrgRole.OWNER
            )
        )
        return set(rows)


# -- migrations and schema ---------------------------------------------------------------


MARIADB_DOWNGRADE_BUG = (
    "migrations/versions/0001: downgrade drops the indexes backing foreign keys before their "
    "tables; MariaDB refuses (1553 'needed in a foreign key constraint')"
)


async def test_migrations_upgrade_to_head_downgrade_to_base_and_back(
    db: Backend, request: pytest.FixtureRequest
) -> None:
    url = await db.new_database()
    config = alembic_config(url)
    head = ScriptDirectory.from_config(config).get_current_head()

    await asyncio.to_thread(upgrade_to_head, url)
    assert await _revision_and_tables(url) == (head, set(Base.metadata.tables))

    await asyncio.to_thread(command.downgrade, config, "base")
    assert await _revision_and_tables(url) == (None, set())

    await asyncio.to_thread(upgrade_to_head, url)
    assert await _revision_and_tables(url) == (head, set(Base.metadata.tables))


async def _revision_and_tables(url: str) -> tuple[str | None, set[str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            revision = None
            if "alembic_version" in tables:
                revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    return revision, tables - {"alembic_version"}


async def test_every_tenant_owned_table_has_an_indexed_organization_id(db: Backend) -> None:
    known = {"org_memberships", "invitations", "machine_clients", "projects", "project_memberships"}
    assert TENANT_TABLES.issuperset(known)

    def leading_index_columns(conn: Any) -> dict[str, set[str]]:
        inspector = inspect(conn)
        return {
            table: {i["column_names"][0] for i in inspector.get_indexes(table)}
            for table in TENANT_TABLES
        }

    async with db.db.engine.connect() as conn:
        indexed = await conn.run_sync(leading_index_columns)
    missing = sorted(t for t, columns in indexed.items() if "organization_id" not in columns)
    assert missing == []


# -- constraints and cascades ------------------------------------------------------------


async def test_duplicate_org_slug_is_rejected(db: Backend) -> None:
    slug = unique("slug")
    async with db.db.transaction() as session:
        session.add(Organization(name="First", slug=slug))
    with pytest.raises(IntegrityError):
        async with db.db.transaction() as session:
            session.add(Organization(name="Second", slug=slug))


async def test_duplicate_org_membership_is_rejected(db: Backend) -> None:
    async with db.db.transaction() as session:
        user = await make_user(session)
        org = await make_org(session, user)
    with pytest.raises(IntegrityError):
        async with db.db.transaction() as session:
            session.add(OrgMembership(organization_id=org.id, user_id=user.id, role="member"))


async def test_duplicate_project_name_is_rejected_within_an_org_but_allowed_across_orgs(
    db: Backend,
) -> None:
    async with db.db.transaction() as session:
        first, second = await make_org(session), await make_org(session)
        await make_project(session, first, name="Prices")
        await make_project(session, second, name="Prices")
    with pytest.raises(IntegrityError):
        async with db.db.transaction() as session:
            await make_project(session, first, name="Prices")


async def test_deleting_an_organization_cascades_to_its_rows(db: Backend) -> None:
    async with db.db.transaction() as session:
        user = await make_user(session)
        org, kept = await make_org(session, user), await make_org(session, user)
        await make_project(session, org, user)
        await make_project(session, kept, user)
        session.add_all(
            [
                Invitation(
                    organization_id=org.id,
                    email="someone@example.com",
                    role="member",
                    token_hash=uuid.uuid4().hex,
                    expires_at=datetime.now(UTC) + INVITATION_TTL,
                ),
                MachineClient(
                    organization_id=org.id, client_subject=unique("m"), name="ci", role="member"
                ),
            ]
        )
    async with db.db.transaction() as session:
        # A database-level delete: the cascade is the schema's, not the ORM's.
        await session.execute(delete(Organization).where(Organization.id == org.id))
    async with db.db.transaction() as session:
        for model in (OrgMembership, Project, ProjectMembership, Invitation, MachineClient):
            left = await session.scalar(
                select(func.count()).select_from(model).where(model.organization_id == org.id)
            )
            assert left == 0, model.__tablename__
        assert await session.get(User, user.id) is not None
        kept_projects = await session.scalar(
            select(func.count()).select_from(Project).where(Project.organization_id == kept.id)
        )
        assert kept_projects == 1


# -- the second lock ---------------------------------------------------------------------


async def test_scoped_session_cannot_see_other_orgs_rows_even_unfiltered(db: Backend) -> None:
    async with db.db.transaction() as session:
        user = await make_user(session)
        org_a, org_b = await make_org(session, user), await make_org(session, user)
        project_a = await make_project(session, org_a, user)
        project_b = await make_project(session, org_b, user)
    for mine, theirs, project in ((org_a, org_b, project_b), (org_b, org_a, project_a)):
        async with db.db.transaction() as session:
            scope_session(session, [mine.id])
            for model in (Project, ProjectMembership, OrgMembership):
                orgs = {row.organization_id for row in await session.scalars(select(model))}
                assert theirs.id not in orgs, model.__tablename__
                assert mine.id in orgs, model.__tablename__
            alias = aliased(Project)
            assert (await session.scalars(select(alias).where(alias.id == project.id))).all() == []
            assert await session.get(Project, project.id) is None


# -- datetimes ---------------------------------------------------------------------------


async def test_utc_datetimes_round_trip_with_microseconds_and_come_back_aware(
    db: Backend,
) -> None:
    created = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    updated_elsewhere = datetime(2031, 5, 6, 9, 8, 9, 654321, tzinfo=timezone(timedelta(hours=2)))
    async with db.db.transaction() as session:
        org = Organization(
            name="Clock", slug=unique("clock"), created_at=created, updated_at=updated_elsewhere
        )
        session.add(org)
    async with db.db.transaction() as session:
        loaded = await session.get(Organization, org.id)
        assert loaded is not None
        assert loaded.created_at == created
        assert loaded.created_at.tzinfo == UTC
        assert loaded.created_at.microsecond == 123456
        assert loaded.updated_at == updated_elsewhere
        assert loaded.updated_at is not None and loaded.updated_at.tzinfo == UTC
        assert loaded.updated_at.hour == 7


async def test_naive_datetime_is_refused(db: Backend) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with db.db.transaction() as session:
            session.add(Organization(name="Naive", slug=unique("naive"), created_at=datetime.now()))


# -- service rules on the real database --------------------------------------------------


def accounts(session: AsyncSession) -> AccountsService:
    return AccountsService(session, invitation_ttl=INVITATION_TTL)


async def test_last_owner_cannot_be_demoted_or_removed(db: Backend) -> None:
    async with db.db.transaction() as session:
        owner = await make_user(session)
        org = await make_org(session, owner)

    async def demote_self(session: AsyncSession, actor: Actor) -> object:
        return await accounts(session).change_member_role(actor, org.id, owner.id, "admin")

    async def leave(session: AsyncSession, actor: Actor) -> None:
        await accounts(session).remove_member(actor, org.id, owner.id)

    with pytest.raises(PreconditionFailed):
        await as_actor(db, owner, demote_self)
    with pytest.raises(PreconditionFailed):
        await as_actor(db, owner, leave)
    assert await owner_ids(db, org.id) == {owner.id}


SQLITE_OWNER_RACE = (
    "trawl/domain/db.py: pysqlite opens a transaction only before the first write and SQLite "
    "renders no FOR UPDATE, so lock_owner_ids locks nothing and both demotions commit"
)


async def test_two_owners_demoting_each_other_concurrently_leave_one_owner(
    db: Backend, request: pytest.FixtureRequest
) -> None:
    async with db.db.transaction() as session:
        first, second = await make_user(session), await make_user(session)
        org = await make_org(session, first, second)
    resolved = {first.id: asyncio.Event(), second.id: asyncio.Event()}

    def demote(target: User) -> Callable[[AsyncSession, Actor], Awaitable[object]]:
        async def action(session: AsyncSession, actor: Actor) -> object:
            # Both callers have read their roles ("owner") before either demotes. A backend
            # that serializes whole transactions blocks the other caller before it can read:
            # then there is nothing to wait for, hence the timeout.
            resolved[actor.user_id].set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(resolved[target.id].wait(), timeout=5)
            return await accounts(session).change_member_role(actor, org.id, target.id, "member")

        return action

    outcomes = await asyncio.wait_for(
        asyncio.gather(
            as_actor(db, first, demote(second)),
            as_actor(db, second, demote(first)),
            return_exceptions=True,
        ),
        timeout=60,
    )
    assert await owner_ids(db, org.id) in ({first.id}, {second.id})
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failures) == 1, outcomes
    # PreconditionFailed when both read "owner" first; PermissionDenied if the loser only
    # read its role after the winner's commit had demoted it.
    assert isinstance(failures[0], PreconditionFailed | PermissionDenied), failures[0]


@dataclass
class InvitationCase:
    org: Organization
    owner: User
    invitee: User
    token: str

    async def accept(self, db: Backend, user: User | None = None) -> object:
        async def action(session: AsyncSession, actor: Actor) -> object:
            return await accounts(session).accept_invitation(actor, self.token)

        return await as_actor(db, user or self.invitee, action)


async def invite(db: Backend) -> InvitationCase:
    async with db.db.transaction() as session:
        owner, invitee = await make_user(session), await make_user(session)
        org = await make_org(session, owner)

    async def action(session: AsyncSession, actor: Actor) -> str:
        assert invitee.email is not None
        issued = await accounts(session).invite_member(actor, org.id, invitee.email, "member")
        return issued.token

    return InvitationCase(org, owner, invitee, await as_actor(db, owner, action))


async def test_accepting_an_invitation_with_another_email_is_denied(db: Backend) -> None:
    case = await invite(db)
    async with db.db.transaction() as session:
        stranger = await make_user(session)
    with pytest.raises(PermissionDenied):
        await case.accept(db, stranger)


async def test_accepting_an_expired_invitation_fails(db: Backend) -> None:
    case = await invite(db)
    async with db.db.transaction() as session:
        await session.execute(
            update(Invitation)
            .where(Invitation.organization_id == case.org.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with pytest.raises(PreconditionFailed, match="expired"):
        await case.accept(db)


async def test_an_invitation_cannot_be_accepted_twice(db: Backend) -> None:
    case = await invite(db)
    await case.accept(db)
    with pytest.raises(PreconditionFailed, match="already accepted"):
        await case.accept(db)


@contextmanager
def count_statements(db: Backend) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.db.engine.sync_engine, "before_cursor_execute", record)


@pytest.mark.parametrize("as_org_role", [OrgRole.OWNER, OrgRole.MEMBER])
async def test_members_of_many_projects_cost_a_constant_number_of_statements(
    db: Backend, as_org_role: OrgRole
) -> None:
    async def members_of(n: int) -> int:
        async with db.db.transaction() as session:
            caller = await make_user(session)
            org = await make_org(session)
            session.add(OrgMembership(organization_id=org.id, user_id=caller.id, role=as_org_role))
            others = [await make_user(session) for _ in range(3)]
            projects = [await make_project(session, org, caller, *others) for _ in range(n)]
        async with db.db.transaction() as session:
            actor = await resolve_actor(session, principal_for(caller))
            service = ProjectsService(session)
            with count_statements(db) as statements:
                pages = await service.members(actor, [p.id for p in projects], PageRequest(2))
        assert set(pages) == {p.id for p in projects}
        assert all(len(p.items) == 2 and p.has_next and p.total == 4 for p in pages.values())
        return len(statements)

    assert await members_of(2) == await members_of(20)
