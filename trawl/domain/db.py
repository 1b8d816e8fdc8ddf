"""Engine, sessions, the declarative base and the tenant-scoping second lock.

Services never commit: `Database.transaction()` is the one boundary that commits or rolls
back per request. Repositories filter every query by the caller's organizations (the first
lock); the `do_orm_execute` hook below adds the same filter to every ORM SELECT of a
tenant-owned model once a session is scoped (the second lock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, Text, event
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.types import TypeDecorator

from trawl.domain.ids import new_id

TENANT_SCOPE_KEY = "tenant_org_ids"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC with microseconds (SQLite and MariaDB have no zone); read back aware."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# JSON documents and event payloads: TEXT stops at 64 KiB on MySQL/MariaDB.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class Base(DeclarativeBase):
    pass


class IdMixin:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class TenantOwned(IdMixin):
    """Every tenant-owned row carries its organization id, indexed."""

    organization_id: Mapped[str] = mapped_column(String(36), index=True, nullable=False)


@event.listens_for(Session, "do_orm_execute")
def _apply_tenant_scope(state: ORMExecuteState) -> None:
    org_ids: Collection[str] | None = state.session.info.get(TENANT_SCOPE_KEY)
    if org_ids is None or not state.is_select:
        return
    if state.execution_options.get("tenant_unscoped"):
        return
    allowed = tuple(org_ids)
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.organization_id.in_(allowed),
            include_aliases=True,
        )
    )


def scope_session(session: AsyncSession, org_ids: Collection[str]) -> None:
    """From here on, ORM reads of tenant-owned rows in this session see only these orgs."""
    session.sync_session.info[TENANT_SCOPE_KEY] = tuple(org_ids)


def unscope_session(session: AsyncSession) -> None:
    """For platform components acting across tenants (system token checked by the caller)."""
    session.sync_session.info.pop(TENANT_SCOPE_KEY, None)


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        # READ COMMITTED: a read after taking a row lock (the run limit's count, the last
        # owner check) must see rows committed since the transaction began, which MySQL's
        # default REPEATABLE READ snapshot would hide.
        kwargs.update(
            pool_pre_ping=True,
            pool_recycle=1800,
            pool_size=10,
            max_overflow=20,
            isolation_level="READ COMMITTED",
        )
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        _enable_sqlite_pragmas(engine)
    return engine


def _enable_sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        # WAL lets the gateway's reads proceed while a service writes; FKs are off by
        # default in SQLite and we rely on ON DELETE CASCADE.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # pysqlite begins transactions lazily at the first write, so a read-then-write
        # (the last-owner check) could interleave; we issue BEGIN IMMEDIATE ourselves.
        dbapi_conn.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Owns the engine and hands out one transaction per request."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> Database:
        return cls(make_engine(url, echo=echo))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()
