"""The transactional outbox: a domain change and its event are written in one transaction.

The relay (trawl.events.relay) publishes unsent rows to EventBridge and marks them sent, so
an event is never lost when the bus is down and never published for a rolled-back change.
Rows are not tenant-scoped reads (only the relay reads them), hence no TenantOwned mixin."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from trawl.domain.db import Base, LongText, UTCDateTime, utcnow
from trawl.domain.ids import new_id
from trawl.events.envelope import DomainEvent


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"),)

    # UUIDv7: ordering by id is ordering by creation.
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(String(36), index=True)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[str] = mapped_column(String(255), nullable=False)
    data: Mapped[str] = mapped_column(LongText, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    def to_event(self) -> DomainEvent:
        return DomainEvent(
            event_id=self.id,
            type=self.event_type,
            organization_id=self.organization_id,
            occurred_at=self.created_at,
            actor_kind=self.actor_kind,
            actor_id=self.actor_id,
            data=json.loads(self.data),
        )


def record_event(
    session: AsyncSession,
    event_type: str,
    organization_id: str | None,
    data: dict[str, Any],
    *,
    actor_kind: str,
    actor_id: str,
) -> OutboxEvent:
    """Add the event to the caller's transaction; it is published only if that commits."""
    row = OutboxEvent(
        organization_id=organization_id,
        event_type=event_type,
        actor_kind=actor_kind,
        actor_id=actor_id,
        data=json.dumps(data, separators=(",", ":"), sort_keys=True, default=str),
        created_at=utcnow(),
    )
    session.add(row)
    return row
