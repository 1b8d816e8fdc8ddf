"""What every servicer shares: the per-call unit of work (one transaction, the caller's
Actor resolved from the verified principal) and proto conversions of common values."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.config import Settings
from trawl.domain.access import Actor, resolve_actor
from trawl.domain.db import Database, unscope_session
from trawl.domain.errors import PermissionDenied
from trawl.domain.pagination import Page, PageRequest
from trawl.grpc_services.gen.common.v1 import common_pb2
from trawl.grpc_services.interceptors import current_principal


class ServicerBase:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[tuple[AsyncSession, Actor]]:
        """One transaction per call: committed on return, rolled back on any error."""
        async with self.db.transaction() as session:
            yield session, await resolve_actor(session, current_principal())

    @asynccontextmanager
    async def system_unit(self) -> AsyncIterator[tuple[AsyncSession, Actor]]:
        """As unit(), for calls reserved to platform components: the caller must hold the
        system permission, and the session is not narrowed to the caller's organizations."""
        async with self.db.transaction() as session:
            actor = await resolve_actor(session, current_principal())
            if not actor.principal.has_permission(self.settings.system_permission):
                raise PermissionDenied("this call is reserved to platform components")
            unscope_session(session)
            yield session, actor

    def page(self, request: common_pb2.PageRequest) -> PageRequest:
        return PageRequest.build(
            request.first,
            request.after or None,
            maximum=self.settings.page_size_max,
            default=self.settings.page_size_default,
        )


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def page_info(page: Page[object]) -> common_pb2.PageInfo:
    return common_pb2.PageInfo(has_next_page=page.has_next, total_count=page.total)
