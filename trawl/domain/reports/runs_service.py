"""Runs as users see them: trigger, cancel, rerun, read the history; and the per-organization
limit on concurrent runs. Never commits; every change writes its event to the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.config import Settings
from trawl.crawlers.run_logs import RunLogPage, RunLogStore
from trawl.domain import events, validation
from trawl.domain.access import Actor
from trawl.domain.accounts.models import Organization
from trawl.domain.db import utcnow
from trawl.domain.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    Unavailable,
)
from trawl.domain.pagination import Page, PageRequest
from trawl.domain.reports.models import Report, Run, RunAttempt
from trawl.domain.reports.reports_service import ReportsService, ReportState
from trawl.domain.reports.repository import ACTIVE_STATES, ReportsRepository
from trawl.domain.reports.run_states import TERMINAL, RunState, check_transition
from trawl.tenants.permissions import OrgAction, ProjectAction, require_org

MAX_RUN_LIMIT = 1000


class TriggerKind:
    MANUAL = "manual"
    SCHEDULE = "schedule"
    RERUN = "rerun"


@dataclass(frozen=True, slots=True)
class RunLimit:
    organization_id: str
    limit: int
    overridden: bool
    active_runs: int


def run_event_data(run: Run, **extra: Any) -> dict[str, Any]:
    return {
        "runId": run.id,
        "reportId": run.report_id,
        "projectId": run.project_id,
        "state": RunState(run.state).name,
        "attempt": run.attempt,
        **extra,
    }


def mark_dataset_ready(
    session: AsyncSession, actor: Actor | tuple[str, str], run: Run, now: datetime
) -> None:
    """Records RunDatasetReady the first time the run is both terminal and fully streamed
    (every record of its last attempt taken in). The two happen in either order, so every
    place that changes one of them calls this, under the run's row lock: exactly once."""
    if run.dataset_ready_at is not None or RunState(run.state) not in TERMINAL:
        return
    if run.stream_complete_attempt < run.attempt:
        return
    run.dataset_ready_at = now
    events.emit(
        session,
        actor,
        events.RUN_DATASET_READY,
        run.organization_id,
        run_event_data(
            run,
            accepted=run.stream_accepted,
            rejected=run.stream_rejected,
            duplicates=run.stream_duplicates,
            storedBytes=run.stream_bytes,
        ),
    )


class RunCreator:
    """Creating a run is shared by users' triggers and schedules: limit check, row, event."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = ReportsRepository(session)

    async def limit(self, org_id: str, *, lock: bool = False) -> RunLimit:
        org = (
            await self.repo.lock_organization(org_id)
            if lock
            else await self.session.get(Organization, org_id)
        )
        if org is None:
            raise NotFound(f"organization {org_id} not found")
        active = await self.session.scalar(
            select(func.count(Run.id))
            .where(Run.organization_id == org_id, Run.state.in_(ACTIVE_STATES))
            .execution_options(tenant_unscoped=True)
        )
        override = org.max_concurrent_runs
        return RunLimit(
            organization_id=org_id,
            limit=override if override is not None else self.settings.max_concurrent_runs,
            overridden=override is not None,
            active_runs=active or 0,
        )

    async def check_limit(self, org_id: str) -> None:
        limit = await self.limit(org_id, lock=True)
        if limit.active_runs >= limit.limit:
            raise PreconditionFailed(
                f"your organization already has {limit.active_runs} active runs and its limit "
                f"is {limit.limit} concurrent runs; wait for a run to finish or cancel one"
            )

    async def create(
        self,
        report: Report,
        actor: Actor | tuple[str, str],
        *,
        kind: str,
        triggered_by: str,
        trigger_key: str | None = None,
        rerun_of: str | None = None,
    ) -> Run:
        await self.check_limit(report.organization_id)
        run = Run(
            organization_id=report.organization_id,
            project_id=report.project_id,
            report_id=report.id,
            state=RunState.QUEUED.value,
            attempt=0,
            max_attempts=report.retry_max_attempts,
            retry_backoff_seconds=report.retry_backoff_seconds,
            timeout_seconds=report.timeout_seconds,
            trigger_kind=kind,
            triggered_by=triggered_by,
            trigger_key=trigger_key,
            rerun_of_id=rerun_of,
            created_at=utcnow(),
        )
        self.session.add(run)
        await self.session.flush()
        events.emit(
            self.session,
            actor,
            events.RUN_REQUESTED,
            run.organization_id,
            run_event_data(run, trigger=kind, triggeredBy=triggered_by),
        )
        return run


class RunsService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = ReportsRepository(session)
        self.reports = ReportsService(session)
        self.creator = RunCreator(session, settings)

    async def run(self, actor: Actor, run_id: str, action: ProjectAction) -> Run:
        validation.entity_id("id", run_id)
        found = await self.repo.runs(actor.org_ids, [run_id])
        if not found:
            raise NotFound(f"run {run_id} not found")
        try:
            await self.reports.projects.project_with_role(actor, found[0].project_id, action)
        except NotFound:
            raise NotFound(f"run {run_id} not found") from None
        return found[0]

    async def visible_runs(self, actor: Actor, run_ids: list[str]) -> list[Run]:
        runs = await self.repo.runs(actor.org_ids, run_ids)
        projects = await self.reports.projects.visible_projects(
            actor, list({r.project_id for r in runs})
        )
        ids = {p.id for p in projects}
        return [r for r in runs if r.project_id in ids]

    async def list_runs(
        self,
        actor: Actor,
        page: PageRequest,
        *,
        report_id: str | None,
        project_id: str | None,
        states: list[str],
    ) -> Page[Run]:
        if bool(report_id) == bool(project_id):
            raise InvalidInput("reportId", "give exactly one of reportId and projectId")
        if report_id:
            report = await self.reports.report(actor, report_id, ProjectAction.READ_REPORTS)
            org_id = report.organization_id
        else:
            project = await self.reports.projects.project_with_role(
                actor, project_id or "", ProjectAction.READ_REPORTS
            )
            org_id = project.organization_id
        return await self.repo.list_runs(
            org_id, page, report_id=report_id, project_id=project_id, states=states
        )

    async def runs_of_reports(
        self, actor: Actor, report_ids: list[str], page: PageRequest, states: list[str]
    ) -> dict[str, Page[Run]]:
        """`list_runs` for many reports at once (DataLoader batches); reports the caller may
        not read are left out."""
        visible = await self.reports.visible_reports(actor, report_ids)
        return await self.repo.runs_of_reports(actor.org_ids, [r.id for r in visible], page, states)

    async def attempts_of_runs(
        self, actor: Actor, run_ids: list[str]
    ) -> dict[str, list[RunAttempt]]:
        """`attempts` for many runs at once; runs the caller may not read are left out."""
        visible = await self.visible_runs(actor, run_ids)
        return await self.repo.attempts_of_runs([r.id for r in visible])

    async def attempts(self, actor: Actor, run_id: str) -> list[RunAttempt]:
        run = await self.run(actor, run_id, ProjectAction.READ_REPORTS)
        return await self.repo.attempts(run.id)

    async def logs(
        self,
        actor: Actor,
        store: RunLogStore,
        run_id: str,
        *,
        first: int,
        after: str | None,
        level: str | None,
    ) -> RunLogPage:
        """Log lines of a run the caller may read (the store is keyed by run id only, so this
        check is what scopes it to the caller's organization)."""
        run = await self.run(actor, run_id, ProjectAction.READ_REPORTS)
        maximum = self.settings.page_size_max
        if first < 0 or first > maximum:
            raise InvalidInput("first", f"must be between 0 and {maximum}")
        try:
            return await store.list(run.id, first or self.settings.page_size_default, after, level)
        except (BotoCoreError, ClientError) as error:
            raise Unavailable(
                f"run logs cannot be read right now ({type(error).__name__}); try again"
            ) from None

    async def trigger(self, actor: Actor, report_id: str) -> Run:
        report = await self.reports.report(actor, report_id, ProjectAction.TRIGGER_RUNS)
        await self._check_runnable(report)
        return await self.creator.create(
            report, actor, kind=TriggerKind.MANUAL, triggered_by=actor.user_id
        )

    async def rerun(self, actor: Actor, run_id: str) -> Run:
        previous = await self.run(actor, run_id, ProjectAction.TRIGGER_RUNS)
        if RunState(previous.state) not in TERMINAL:
            raise PreconditionFailed(
                f"the run is still {RunState(previous.state).name}; "
                "only a finished run can be rerun (cancel it first)"
            )
        report = await self.reports.report(actor, previous.report_id, ProjectAction.TRIGGER_RUNS)
        await self._check_runnable(report)
        return await self.creator.create(
            report, actor, kind=TriggerKind.RERUN, triggered_by=actor.user_id, rerun_of=previous.id
        )

    async def cancel(self, actor: Actor, run_id: str) -> Run:
        """A queued run ends at once; a started one goes CANCELLING until its crawler stops."""
        found = await self.run(actor, run_id, ProjectAction.TRIGGER_RUNS)
        run = await self.repo.lock_run(found.id)
        assert run is not None
        state = RunState(run.state)
        if state == RunState.CANCELLING:
            return run
        target = RunState.CANCELLED if state == RunState.QUEUED else RunState.CANCELLING
        check_transition(state, target)
        now = utcnow()
        run.state = target.value
        run.cancel_requested_at = now
        run.updated_at = now
        if target == RunState.CANCELLED:
            run.finished_at = now
        await self.session.flush()
        data = run_event_data(run, previousState=state.name)
        events.emit(self.session, actor, events.RUN_STATE_CHANGED, run.organization_id, data)
        # A run cancelled before it started has no records: its (empty) dataset is ready.
        mark_dataset_ready(self.session, actor, run, now)
        if target == RunState.CANCELLING:
            events.emit(self.session, actor, events.RUN_CANCEL_REQUESTED, run.organization_id, data)
        return run

    async def _check_runnable(self, report: Report) -> None:
        if report.state == ReportState.ARCHIVED:
            raise PreconditionFailed("the report is archived; archived reports cannot run")
        code = await self.repo.service_code(report.service_code)
        if code is None or not code.active:
            raise PreconditionFailed(
                f"the report's service code '{report.service_code}' is retired; "
                "choose another service code for the report"
            )

    async def run_limit(self, actor: Actor, org_id: str) -> RunLimit:
        validation.entity_id("organizationId", org_id)
        if not actor.principal.is_staff:
            require_org(actor.require_member(org_id), OrgAction.READ)
        return await self.creator.limit(org_id)

    async def set_run_limit(self, actor: Actor, org_id: str, limit: int | None) -> RunLimit:
        if not actor.principal.is_staff:
            raise PermissionDenied("only platform staff can change an organization's run limit")
        validation.entity_id("organizationId", org_id)
        if limit is not None and not 0 <= limit <= MAX_RUN_LIMIT:
            raise InvalidInput("maxConcurrentRuns", f"must be between 0 and {MAX_RUN_LIMIT}")
        org = await self.repo.lock_organization(org_id)
        if org is None:
            raise NotFound(f"organization {org_id} not found")
        org.max_concurrent_runs = limit
        await self.session.flush()
        events.emit(
            self.session,
            actor,
            events.ORGANIZATION_RUN_LIMIT_CHANGED,
            org_id,
            {"maxConcurrentRuns": limit},
        )
        return await self.creator.limit(org_id)
