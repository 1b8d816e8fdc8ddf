"""Rules of deliveries: what the delivery workflow records (each attempt, the final outcome
with its DeliverySucceeded/DeliveryFailed event), what users read, and redelivery on request.
Never commits; events carry no secret (errors are the senders' user-facing messages)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trawl.config import Settings
from trawl.domain import events, validation
from trawl.domain.access import Actor
from trawl.domain.db import utcnow
from trawl.domain.deliveries.models import FINAL_STATES, Delivery, DeliveryState
from trawl.domain.deliveries.repository import DeliveriesRepository
from trawl.domain.errors import InvalidInput, NotFound, PreconditionFailed
from trawl.domain.reports.models import Run
from trawl.domain.reports.repository import ReportsRepository
from trawl.domain.reports.run_control import require_system
from trawl.domain.reports.run_states import RunState
from trawl.domain.reports.runs_service import RunsService
from trawl.tenants.permissions import ProjectAction

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What the workflow reports: DELIVERING with the attempt number (and the error of a
    failed attempt), PENDING before the first, or a final DELIVERED/FAILED."""

    run_id: str
    destination_id: str
    medium: str
    state: DeliveryState
    attempt: int = 0
    error: str = ""
    location: str = ""


class DeliveriesService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = DeliveriesRepository(session)
        self.runs = RunsService(session, settings)

    async def list_for_run(self, actor: Actor, run_id: str) -> list[Delivery]:
        run = await self.runs.run(actor, run_id, ProjectAction.READ_REPORTS)
        return await self.repo.for_run([run.organization_id], run.id)

    async def redeliver(self, actor: Actor, run_id: str, destination_id: str) -> Delivery:
        run = await self.runs.run(actor, run_id, ProjectAction.WRITE_REPORTS)
        validation.entity_id("destinationId", destination_id)
        if RunState(run.state) is not RunState.SUCCEEDED:
            raise PreconditionFailed(
                f"the run is {RunState(run.state).name}; only a succeeded run is delivered"
            )
        destinations = await ReportsRepository(self.session).destinations(
            [run.organization_id], [run.report_id]
        )
        destination = next((d for d in destinations if d.id == destination_id), None)
        if destination is None:
            raise NotFound(
                f"destination {destination_id} not found on the run's report",
                field="destinationId",
            )
        row = await self.repo.one(run.organization_id, run.id, destination_id, lock=True)
        if row is not None and row.state in (DeliveryState.PENDING, DeliveryState.DELIVERING):
            raise PreconditionFailed("this destination is being delivered right now")
        row = row or self._new(run, destination_id, destination.medium)
        row.medium = destination.medium
        row.state = DeliveryState.PENDING
        row.attempts = 0
        row.last_error = None
        row.updated_at = utcnow()
        self.session.add(row)
        await self.session.flush()
        events.emit(
            self.session,
            actor,
            events.REDELIVERY_REQUESTED,
            run.organization_id,
            self._event_data(run, row),
        )
        return row

    async def record(self, actor: Actor, record: AttemptRecord) -> Delivery:
        """System only. Idempotent: a repeated report of the same attempt changes nothing new."""
        system = require_system(actor, self.settings)
        validation.entity_id("runId", record.run_id)
        validation.entity_id("destinationId", record.destination_id)
        run = await self.session.get(
            Run, record.run_id, execution_options={"tenant_unscoped": True}
        )
        if run is None:
            raise NotFound(f"run {record.run_id} not found")
        row = await self.repo.one(run.organization_id, run.id, record.destination_id, lock=True)
        if row is None:
            row = self._new(run, record.destination_id, record.medium)
            self.session.add(row)
        was_final = row.state in FINAL_STATES
        self._apply(row, record)
        await self.session.flush()
        if record.state in FINAL_STATES and not was_final:
            kind = (
                events.DELIVERY_SUCCEEDED
                if record.state is DeliveryState.DELIVERED
                else events.DELIVERY_FAILED
            )
            events.emit(self.session, system, kind, run.organization_id, self._event_data(run, row))
        return row

    @staticmethod
    def _apply(row: Delivery, record: AttemptRecord) -> None:
        if not record.medium:
            raise InvalidInput("medium", "is required")
        row.medium = record.medium
        row.updated_at = utcnow()
        if record.state is DeliveryState.PENDING:
            if row.state not in FINAL_STATES:
                row.state = DeliveryState.PENDING
            return
        row.attempts = max(row.attempts, record.attempt)
        if record.error:
            row.last_error = record.error[:MAX_ERROR_CHARS]
        row.state = record.state
        if record.state is DeliveryState.DELIVERED:
            row.delivered_at = utcnow()
            row.location = record.location or None
            row.last_error = None

    @staticmethod
    def _new(run: Run, destination_id: str, medium: str) -> Delivery:
        return Delivery(
            organization_id=run.organization_id,
            run_id=run.id,
            destination_id=destination_id,
            medium=medium,
            state=DeliveryState.PENDING,
            attempts=0,
        )

    @staticmethod
    def _event_data(run: Run, row: Delivery) -> dict[str, Any]:
        return {
            "runId": run.id,
            "reportId": run.report_id,
            "projectId": run.project_id,
            "destinationId": row.destination_id,
            "deliveryId": row.id,
            "medium": row.medium,
            "state": row.state,
            "attempts": row.attempts,
            "error": row.last_error or "",
            "location": row.location or "",
        }
