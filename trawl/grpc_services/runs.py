"""RunsService servicer: proto ⇄ RunsService (users) and RunControl (platform components)."""

from __future__ import annotations

import grpc
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.config import Settings
from trawl.crawlers.run_logs import RunLogEntry, RunLogStore
from trawl.domain.db import Database
from trawl.domain.errors import InvalidInput
from trawl.domain.reports.models import Run, RunAttempt
from trawl.domain.reports.run_control import RunControl, StreamStats, Transition
from trawl.domain.reports.run_states import RunState
from trawl.domain.reports.runs_service import RunLimit, RunsService, TriggerKind
from trawl.grpc_services.base import page_info, timestamp
from trawl.grpc_services.deliveries import DeliveryRpcs
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.grpc_services.gen.reports.v1 import reports_pb2_grpc
from trawl.live.broker import Broadcaster
from trawl.live.run_updates import RunUpdatePublisher
from trawl.tenants.permissions import ProjectAction

RUN_STATE_TO_PB: dict[RunState, pb.RunState] = {
    RunState.QUEUED: pb.RUN_STATE_QUEUED,
    RunState.STARTING: pb.RUN_STATE_STARTING,
    RunState.RUNNING: pb.RUN_STATE_RUNNING,
    RunState.CANCELLING: pb.RUN_STATE_CANCELLING,
    RunState.SUCCEEDED: pb.RUN_STATE_SUCCEEDED,
    RunState.FAILED: pb.RUN_STATE_FAILED,
    RunState.CANCELLED: pb.RUN_STATE_CANCELLED,
    RunState.TIMED_OUT: pb.RUN_STATE_TIMED_OUT,
}
PB_TO_RUN_STATE: dict[int, RunState] = {int(v): k for k, v in RUN_STATE_TO_PB.items()}
TRIGGER_TO_PB = {
    TriggerKind.MANUAL: pb.TRIGGER_KIND_MANUAL,
    TriggerKind.SCHEDULE: pb.TRIGGER_KIND_SCHEDULE,
    TriggerKind.RERUN: pb.TRIGGER_KIND_RERUN,
}


def run_state_from_pb(value: int, field: str = "state") -> RunState:
    if value not in PB_TO_RUN_STATE:
        raise InvalidInput(field, "a run state is required")
    return PB_TO_RUN_STATE[value]


def run_pb(run: Run) -> pb.Run:
    return pb.Run(
        id=run.id,
        organization_id=run.organization_id,
        project_id=run.project_id,
        report_id=run.report_id,
        state=RUN_STATE_TO_PB[RunState(run.state)],
        attempt=run.attempt,
        max_attempts=run.max_attempts,
        trigger_kind=TRIGGER_TO_PB.get(run.trigger_kind, pb.TRIGGER_KIND_UNSPECIFIED),
        triggered_by=run.triggered_by,
        rerun_of_id=run.rerun_of_id or "",
        failure_reason=run.failure_reason or "",
        stats=pb.RunStats(pages=run.pages, records=run.records, errors=run.errors, bytes=run.bytes),
        queued_at=timestamp(run.created_at),
        started_at=timestamp(run.started_at),
        running_at=timestamp(run.running_at),
        finished_at=timestamp(run.finished_at),
        cancel_requested_at=timestamp(run.cancel_requested_at),
        timeout_seconds=run.timeout_seconds,
        retry_backoff_seconds=run.retry_backoff_seconds,
        stream=pb.StreamStats(
            accepted=run.stream_accepted,
            rejected=run.stream_rejected,
            duplicates=run.stream_duplicates,
            stored_bytes=run.stream_bytes,
            complete_attempt=run.stream_complete_attempt,
        ),
        dataset_ready_at=timestamp(run.dataset_ready_at),
    )


def attempt_pb(attempt: RunAttempt) -> pb.RunAttempt:
    message = pb.RunAttempt(
        attempt=attempt.attempt,
        state=RUN_STATE_TO_PB[RunState(attempt.state)],
        started_at=timestamp(attempt.started_at),
        running_at=timestamp(attempt.running_at),
        finished_at=timestamp(attempt.finished_at),
        failure_reason=attempt.failure_reason or "",
    )
    if attempt.exit_code is not None:
        message.exit_code = attempt.exit_code
    return message


def limit_pb(limit: RunLimit) -> pb.OrganizationRunLimit:
    return pb.OrganizationRunLimit(
        organization_id=limit.organization_id,
        max_concurrent_runs=limit.limit,
        overridden=limit.overridden,
        active_runs=limit.active_runs,
    )


LEVEL_TO_PB = {
    "DEBUG": pb.LOG_LEVEL_DEBUG,
    "INFO": pb.LOG_LEVEL_INFO,
    "WARNING": pb.LOG_LEVEL_WARNING,
    "ERROR": pb.LOG_LEVEL_ERROR,
}
PB_TO_LEVEL: dict[int, str] = {int(v): k for k, v in LEVEL_TO_PB.items()}


def log_line_pb(entry: RunLogEntry) -> pb.RunLogLine:
    return pb.RunLogLine(
        cursor=entry.cursor,
        attempt=entry.attempt,
        at=timestamp(entry.at),
        level=LEVEL_TO_PB.get(entry.level, pb.LOG_LEVEL_INFO),
        stream=entry.stream,
        message=entry.message,
    )


class RunsServicer(DeliveryRpcs, reports_pb2_grpc.RunsServiceServicer):
    def __init__(
        self,
        db: Database,
        settings: Settings,
        logs: RunLogStore | None = None,
        live: Broadcaster | None = None,
    ) -> None:
        super().__init__(db, settings)
        self.log_store = logs or RunLogStore(settings)
        self.updates = RunUpdatePublisher(live)

    async def _published(self, run: pb.Run) -> pb.Run:
        """Called once the unit committed: live subscribers see only stored states."""
        await self.updates.publish(run)
        return run

    def _runs(self, session: AsyncSession) -> RunsService:
        return RunsService(session, self.settings)

    async def TriggerRun(
        self, request: pb.TriggerRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.Run:
        async with self.unit() as (session, actor):
            run = run_pb(await self._runs(session).trigger(actor, request.report_id))
        return await self._published(run)

    async def CancelRun(
        self, request: pb.CancelRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.Run:
        async with self.unit() as (session, actor):
            run = run_pb(await self._runs(session).cancel(actor, request.id))
        return await self._published(run)

    async def Rerun(self, request: pb.RerunRequest, context: grpc.aio.ServicerContext) -> pb.Run:
        async with self.unit() as (session, actor):
            run = run_pb(await self._runs(session).rerun(actor, request.id))
        return await self._published(run)

    async def GetRun(self, request: pb.GetRunRequest, context: grpc.aio.ServicerContext) -> pb.Run:
        async with self.unit() as (session, actor):
            run = await self._runs(session).run(actor, request.id, ProjectAction.READ_REPORTS)
            return run_pb(run)

    async def BatchGetRuns(
        self, request: pb.BatchGetRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetRunsResponse:
        async with self.unit() as (session, actor):
            runs = await self._runs(session).visible_runs(actor, list(request.ids))
            return pb.BatchGetRunsResponse(runs=[run_pb(r) for r in runs])

    async def ListRuns(
        self, request: pb.ListRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRunsResponse:
        async with self.unit() as (session, actor):
            page = await self._runs(session).list_runs(
                actor,
                self.page(request.page),
                report_id=request.report_id or None,
                project_id=request.project_id or None,
                states=[run_state_from_pb(s, "states").value for s in request.states],
            )
            return pb.ListRunsResponse(
                runs=[run_pb(r) for r in page.items],
                page_info=page_info(page),  # type: ignore[arg-type]
            )

    async def ListRunAttempts(
        self, request: pb.ListRunAttemptsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRunAttemptsResponse:
        async with self.unit() as (session, actor):
            attempts = await self._runs(session).attempts(actor, request.run_id)
            return pb.ListRunAttemptsResponse(attempts=[attempt_pb(a) for a in attempts])

    async def BatchListReportRuns(
        self, request: pb.BatchListReportRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchListReportRunsResponse:
        async with self.unit() as (session, actor):
            pages = await self._runs(session).runs_of_reports(
                actor,
                list(request.report_ids),
                self.page(request.page),
                [run_state_from_pb(s, "states").value for s in request.states],
            )
            return pb.BatchListReportRunsResponse(
                pages=[
                    pb.ReportRunsPage(
                        report_id=report_id,
                        runs=[run_pb(r) for r in page.items],
                        page_info=page_info(page),  # type: ignore[arg-type]
                    )
                    for report_id, page in pages.items()
                ]
            )

    async def BatchListRunAttempts(
        self, request: pb.BatchListRunAttemptsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchListRunAttemptsResponse:
        async with self.unit() as (session, actor):
            found = await self._runs(session).attempts_of_runs(actor, list(request.run_ids))
            return pb.BatchListRunAttemptsResponse(
                runs=[
                    pb.RunAttempts(run_id=run_id, attempts=[attempt_pb(a) for a in attempts])
                    for run_id, attempts in found.items()
                ]
            )

    async def ListRunLogs(
        self, request: pb.ListRunLogsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRunLogsResponse:
        async with self.unit() as (session, actor):
            page = await self._runs(session).logs(
                actor,
                self.log_store,
                request.run_id,
                first=request.first,
                after=request.after or None,
                level=PB_TO_LEVEL.get(request.min_level),
            )
            return pb.ListRunLogsResponse(
                lines=[log_line_pb(e) for e in page.entries],
                has_next_page=page.has_next,
                end_cursor=page.end_cursor or "",
            )

    async def SetOrganizationRunLimit(
        self, request: pb.SetOrganizationRunLimitRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrganizationRunLimit:
        async with self.unit() as (session, actor):
            limit = await self._runs(session).set_run_limit(
                actor,
                request.organization_id,
                request.max_concurrent_runs if request.HasField("max_concurrent_runs") else None,
            )
            return limit_pb(limit)

    async def GetOrganizationRunLimit(
        self, request: pb.GetOrganizationRunLimitRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrganizationRunLimit:
        async with self.unit() as (session, actor):
            return limit_pb(await self._runs(session).run_limit(actor, request.organization_id))

    async def GetRunPlan(
        self, request: pb.GetRunPlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.RunPlan:
        async with self.system_unit() as (session, actor):
            plan = await RunControl(session, self.settings, actor).plan(request.run_id)
            return pb.RunPlan(
                run=run_pb(plan.run),
                service_code=plan.code.code,
                entry_point=plan.code.entry_point,
                image=plan.code.image,
                version=plan.code.version,
                parameters_json=plan.report.parameters,
                cpu=plan.code.cpu,
                memory=plan.code.memory,
                report_name=plan.report.name,
                record_key_fields=plan.report.key_fields,
            )

    async def TransitionRun(
        self, request: pb.TransitionRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.Run:
        async with self.system_unit() as (session, actor):
            stats = request.stats if request.HasField("stats") else None
            change = Transition(
                target=run_state_from_pb(request.state),
                attempt=request.attempt,
                failure_reason=request.failure_reason,
                stats=(
                    {
                        "pages": stats.pages,
                        "records": stats.records,
                        "errors": stats.errors,
                        "bytes": stats.bytes,
                    }
                    if stats
                    else None
                ),
                exit_code=request.exit_code if request.HasField("exit_code") else None,
            )
            run = await RunControl(session, self.settings, actor).transition(request.run_id, change)
            message = run_pb(run)
        return await self._published(message)

    async def ReportRunProgress(
        self, request: pb.ReportRunProgressRequest, context: grpc.aio.ServicerContext
    ) -> pb.Run:
        async with self.system_unit() as (session, actor):
            stats = request.stats
            run = await RunControl(session, self.settings, actor).report_progress(
                request.run_id,
                request.attempt,
                {
                    "pages": stats.pages,
                    "records": stats.records,
                    "errors": stats.errors,
                    "bytes": stats.bytes,
                },
            )
            message = run_pb(run)
        return await self._published(message)

    async def RequestScheduledRun(
        self, request: pb.RequestScheduledRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.RequestScheduledRunResponse:
        async with self.system_unit() as (session, actor):
            run, reason = await RunControl(session, self.settings, actor).request_scheduled_run(
                request.report_id, request.trigger_key, request.schedule_id
            )
            if run is None:
                return pb.RequestScheduledRunResponse(skipped_reason=reason)
            message = run_pb(run)
        return pb.RequestScheduledRunResponse(run=await self._published(message))

    async def ListStaleRuns(
        self, request: pb.ListStaleRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStaleRunsResponse:
        async with self.system_unit() as (session, actor):
            runs = await RunControl(session, self.settings, actor).stale_runs(
                request.older_than_seconds, request.limit or 100
            )
            return pb.ListStaleRunsResponse(runs=[run_pb(r) for r in runs])

    async def GetReportSchedule(
        self, request: pb.GetReportScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReportSchedule:
        async with self.system_unit() as (session, actor):
            report = await RunControl(session, self.settings, actor).report_schedule(
                request.report_id
            )
            if report is None:
                return pb.ReportSchedule(report_id=request.report_id, exists=False)
            return pb.ReportSchedule(
                report_id=report.id,
                organization_id=report.organization_id,
                exists=True,
                active=report.state == "active",
                cron=report.schedule_cron or "",
                timezone=report.schedule_timezone or "",
                paused=report.schedule_paused,
            )

    async def GetRecordSchema(
        self, request: pb.GetRecordSchemaRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordSchema:
        async with self.system_unit() as (session, actor):
            schema = await RunControl(session, self.settings, actor).record_schema(
                request.report_id
            )
            return pb.RecordSchema(
                report_id=schema.report_id,
                organization_id=schema.organization_id,
                project_id=schema.project_id,
                record_schema_json=schema.schema_json,
                version=schema.version,
                record_key_fields=schema.key_fields,
            )

    async def ReportStreamStats(
        self, request: pb.ReportStreamStatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.Run:
        async with self.system_unit() as (session, actor):
            stats = request.stats
            run = await RunControl(session, self.settings, actor).report_stream_stats(
                request.run_id,
                request.organization_id,
                StreamStats(
                    accepted=stats.accepted,
                    rejected=stats.rejected,
                    duplicates=stats.duplicates,
                    stored_bytes=stats.stored_bytes,
                    complete_attempt=stats.complete_attempt,
                ),
            )
            message = run_pb(run)
        return await self._published(message)
