"""What platform components (workers, schedules, the stream job) do to runs, with a system
token: read the plan of a run, move it through its lifecycle, create scheduled runs, hand
the stream job a report's record schema and take its per-run totals.

Calls are idempotent: a workflow activity retried after a crash repeats its last call and
gets the same answer, with no second event."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.config import Settings
from trawl.domain import events
from trawl.domain.access import Actor
from trawl.domain.db import utcnow
from trawl.domain.errors import InvalidInput, NotFound, PermissionDenied, PreconditionFailed
from trawl.domain.reports.models import Report, Run, RunAttempt, ServiceCode, dump_json
from trawl.domain.reports.reports_service import ReportState
from trawl.domain.reports.repository import ReportsRepository
from trawl.domain.reports.run_states import TERMINAL, RunState, check_transition
from trawl.domain.reports.runs_service import (
    RunCreator,
    TriggerKind,
    mark_dataset_ready,
    run_event_data,
)


@dataclass(frozen=True, slots=True)
class RunPlan:
    run: Run
    report: Report
    code: ServiceCode


@dataclass(frozen=True, slots=True)
class Transition:
    target: RunState
    attempt: int
    failure_reason: str = ""
    stats: dict[str, int] | None = None
    exit_code: int | None = None


@dataclass(frozen=True, slots=True)
class RecordSchema:
    """What the stream job validates and keys a report's records by."""

    report_id: str
    organization_id: str
    project_id: str
    schema_json: str
    key_fields: list[str]
    # Changes whenever the schema or the key fields do, so the job knows when to reload.
    version: str


@dataclass(frozen=True, slots=True)
class StreamStats:
    """The stream job's totals for one run (absolute values, not deltas)."""

    accepted: int
    rejected: int
    duplicates: int
    stored_bytes: int
    # The highest attempt whose records the job has all taken in.
    complete_attempt: int


def require_system(actor: Actor, settings: Settings) -> tuple[str, str]:
    if not actor.principal.has_permission(settings.system_permission):
        raise PermissionDenied("this call is reserved to platform components")
    return "system", actor.principal.subject


class RunControl:
    def __init__(self, session: AsyncSession, settings: Settings, actor: Actor) -> None:
        self.session = session
        self.settings = settings
        self.system = require_system(actor, settings)
        self.repo = ReportsRepository(session)

    async def _run(self, run_id: str) -> Run:
        run = await self.repo.lock_run(run_id)
        if run is None:
            raise NotFound(f"run {run_id} not found")
        return run

    async def _report(self, report_id: str) -> Report | None:
        return await self.session.get(
            Report, report_id, execution_options={"tenant_unscoped": True}
        )

    async def plan(self, run_id: str) -> RunPlan:
        run = await self._run(run_id)
        report = await self._report(run.report_id)
        code = await self.repo.service_code(report.service_code) if report else None
        if report is None or code is None:
            raise NotFound(f"the report of run {run_id} no longer exists")
        return RunPlan(run=run, report=report, code=code)

    async def transition(self, run_id: str, change: Transition) -> Run:
        run = await self._run(run_id)
        current = RunState(run.state)
        if _already_there(run, current, change):
            return run
        check_transition(current, change.target)
        if change.target == RunState.STARTING and change.attempt != run.attempt + 1:
            raise PreconditionFailed(
                f"attempt {change.attempt} cannot start: the run is at attempt {run.attempt}"
            )
        if change.target != RunState.STARTING and change.attempt != run.attempt:
            # A late call from an earlier attempt must not move the current one.
            raise PreconditionFailed(
                f"attempt {change.attempt} is over: the run is at attempt {run.attempt}"
            )
        now = utcnow()
        previous_attempt = await self.repo.attempt(run.id, run.attempt)
        self._apply(run, change, now)
        await self._record_attempt(run, previous_attempt, change, now)
        await self.session.flush()
        events.emit(
            self.session,
            self.system,
            events.RUN_STATE_CHANGED,
            run.organization_id,
            run_event_data(
                run,
                previousState=current.name,
                failureReason=run.failure_reason or "",
                stats=_stats(run),
            ),
        )
        mark_dataset_ready(self.session, self.system, run, now)
        return run

    def _apply(self, run: Run, change: Transition, now: datetime) -> None:
        run.state = change.target.value
        run.updated_at = now
        if change.target == RunState.STARTING:
            run.attempt = change.attempt
            run.started_at = run.started_at or now
        elif change.target == RunState.RUNNING:
            run.running_at = now
        elif change.target in TERMINAL:
            run.finished_at = now
            run.failure_reason = change.failure_reason or None
        if change.stats:
            for name in ("pages", "records", "errors", "bytes"):
                if name in change.stats:
                    setattr(run, name, int(change.stats[name]))

    async def _record_attempt(
        self, run: Run, previous: RunAttempt | None, change: Transition, now: datetime
    ) -> None:
        if change.target == RunState.STARTING:
            # A new attempt ends the one before it (it failed, or we would not retry).
            if previous is not None and previous.finished_at is None:
                previous.state = RunState.FAILED.value
                previous.finished_at = now
                previous.failure_reason = change.failure_reason or previous.failure_reason
                previous.exit_code = change.exit_code
            self.session.add(
                RunAttempt(
                    organization_id=run.organization_id,
                    run_id=run.id,
                    attempt=change.attempt,
                    state=RunState.STARTING.value,
                    started_at=now,
                )
            )
            return
        current = await self.repo.attempt(run.id, run.attempt)
        if current is None:
            return
        if change.target == RunState.RUNNING:
            current.running_at = now
        current.state = change.target.value
        if change.target in TERMINAL:
            current.finished_at = now
            current.failure_reason = change.failure_reason or None
            current.exit_code = change.exit_code

    async def report_progress(self, run_id: str, attempt: int, stats: dict[str, int]) -> Run:
        """Counters of the running attempt; a late report (the run or attempt moved on) is
        ignored, so a finished run keeps its final counters."""
        run = await self._run(run_id)
        if RunState(run.state) in TERMINAL or run.attempt != attempt:
            return run
        for name in ("pages", "records", "errors", "bytes"):
            if name in stats:
                setattr(run, name, max(0, int(stats[name])))
        run.updated_at = utcnow()
        await self.session.flush()
        return run

    async def record_schema(self, report_id: str) -> RecordSchema:
        """Archived reports answer too: their last runs may still be streaming."""
        report = await self._report(report_id)
        if report is None:
            raise NotFound(f"report {report_id} not found")
        return RecordSchema(
            report_id=report.id,
            organization_id=report.organization_id,
            project_id=report.project_id,
            schema_json=report.record_schema,
            key_fields=report.key_fields,
            version=schema_version(report),
        )

    async def report_stream_stats(
        self, run_id: str, organization_id: str, stats: StreamStats
    ) -> Run:
        """Stores the stream job's totals, in any state (records keep arriving after the
        crawler ends). The organization the records claim must be the run's: another one
        gets the answer an unknown run gets, and changes nothing."""
        for item in fields(stats):
            if getattr(stats, item.name) < 0:
                raise InvalidInput("stats", f"{item.name} cannot be negative")
        run = await self.repo.lock_run(run_id)
        if run is None or run.organization_id != organization_id:
            raise NotFound(f"run {run_id} not found")
        now = utcnow()
        run.stream_accepted = stats.accepted
        run.stream_rejected = stats.rejected
        run.stream_duplicates = stats.duplicates
        run.stream_bytes = stats.stored_bytes
        # An attempt once complete stays complete, whatever a late call says.
        run.stream_complete_attempt = max(run.stream_complete_attempt, stats.complete_attempt)
        # Not updated_at: the stale-run sweep reads it as "the lifecycle last moved".
        run.stream_updated_at = now
        mark_dataset_ready(self.session, self.system, run, now)
        await self.session.flush()
        return run

    async def request_scheduled_run(
        self, report_id: str, trigger_key: str, schedule_id: str
    ) -> tuple[Run | None, str]:
        """The run for one schedule fire, or why none was created (skips are audited)."""
        existing = await self.repo.run_by_trigger_key(trigger_key)
        if existing is not None:
            return existing, ""
        report = await self._report(report_id)
        if report is None:
            return None, "the report no longer exists"
        reason = await self._skip_reason(report)
        if reason:
            events.emit(
                self.session,
                self.system,
                events.SCHEDULED_RUN_SKIPPED,
                report.organization_id,
                {"reportId": report.id, "projectId": report.project_id, "reason": reason},
            )
            return None, reason
        run = await RunCreator(self.session, self.settings).create(
            report,
            self.system,
            kind=TriggerKind.SCHEDULE,
            triggered_by=schedule_id,
            trigger_key=trigger_key,
        )
        return run, ""

    async def _skip_reason(self, report: Report) -> str:
        if report.state == ReportState.ARCHIVED:
            return "the report is archived"
        if not report.schedule_cron or report.schedule_paused:
            return "the report's schedule is removed or paused"
        # Under the organization's lock, like manual triggers: a trigger racing this fire
        # is then seen by the active-run check below.
        limit = await RunCreator(self.session, self.settings).limit(
            report.organization_id, lock=True
        )
        if await self.repo.active_run_ids(report_id=report.id):
            return "a run of this report is still active (overlap policy: skip)"
        code = await self.repo.service_code(report.service_code)
        if code is None or not code.active:
            return f"the service code '{report.service_code}' is retired"
        if limit.active_runs >= limit.limit:
            return f"the organization is at its limit of {limit.limit} concurrent runs"
        return ""

    async def stale_runs(self, older_than_seconds: int, limit: int) -> list[Run]:
        """QUEUED runs no workflow picked up and CANCELLING runs nothing finished, untouched
        for longer than the given age (oldest first)."""
        if older_than_seconds < 1 or not 1 <= limit <= 1000:
            raise InvalidInput("olderThanSeconds", "needs a positive age and a limit of 1-1000")
        cutoff = utcnow() - timedelta(seconds=older_than_seconds)
        rows = await self.session.scalars(
            select(Run)
            .where(
                Run.state.in_([RunState.QUEUED.value, RunState.CANCELLING.value]),
                func.coalesce(Run.updated_at, Run.created_at) < cutoff,
            )
            .order_by(Run.id)
            .limit(limit)
            .execution_options(tenant_unscoped=True)
        )
        return list(rows)

    async def report_schedule(self, report_id: str) -> Report | None:
        return await self._report(report_id)


def _already_there(run: Run, current: RunState, change: Transition) -> bool:
    """The same transition asked twice (an activity retried after its first call landed)."""
    if current != change.target:
        return False
    return change.target != RunState.STARTING or run.attempt == change.attempt


def _stats(run: Run) -> dict[str, int]:
    return {"pages": run.pages, "records": run.records, "errors": run.errors, "bytes": run.bytes}


def schema_version(report: Report) -> str:
    """A hash of the record schema and key fields, in canonical JSON: exact, and the same
    however the stored text happens to be formatted."""
    canonical = dump_json({"schema": report.record_schema_doc, "keyFields": report.key_fields})
    return hashlib.sha256(canonical.encode()).hexdigest()
