"""One delivery of a run's dataset to one of its report's destinations, with its attempts so
far, the last error and, once delivered, where the file landed (the receipt)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trawl.domain.db import Base, TenantOwned, UTCDateTime


class DeliveryState(StrEnum):
    PENDING = "PENDING"
    DELIVERING = "DELIVERING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


FINAL_STATES = frozenset({DeliveryState.DELIVERED, DeliveryState.FAILED})


class Delivery(TenantOwned, Base):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("run_id", "destination_id", name="uq_delivery_run_dest"),)

    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    )
    # No foreign key: a delivery outlives an edit of its report's destinations.
    destination_id: Mapped[str] = mapped_column(String(36), nullable=False)
    medium: Mapped[str] = mapped_column(String(16), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    location: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
