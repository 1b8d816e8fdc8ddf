"""Queries of the deliveries table; every read names the organizations it may see."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain.deliveries.models import Delivery


class DeliveriesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_run(self, org_ids: Sequence[str], run_id: str) -> list[Delivery]:
        if not org_ids:
            return []
        rows = await self.session.scalars(
            select(Delivery)
            .where(Delivery.organization_id.in_(org_ids), Delivery.run_id == run_id)
            .order_by(Delivery.created_at, Delivery.id)
        )
        return list(rows)

    async def one(
        self, org_id: str, run_id: str, destination_id: str, *, lock: bool = False
    ) -> Delivery | None:
        statement = select(Delivery).where(
            Delivery.organization_id == org_id,
            Delivery.run_id == run_id,
            Delivery.destination_id == destination_id,
        )
        if lock:
            statement = statement.with_for_update()
        found: Delivery | None = await self.session.scalar(statement)
        return found
