"""Activities of the run and schedule workflows. Each is idempotent (keyed by run id and
attempt), talks to the services over gRPC with a system token, and launches crawlers
through the runner port; none of them touches the database directly."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from trawl.config import Settings
from trawl.crawlers.runners.base import CrawlerOutcome, CrawlerRunner, CrawlerSpec
from trawl.domain.reports.schedule import parse_schedule
from trawl.grpc_services.clients import RunsClient, ServiceError
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.tenants.system_token import SystemTokenProvider
from trawl.workflows.inputs import ScheduledRunInput, SyncScheduleInput
from trawl.workflows.schedules import ScheduleSync

log = logging.getLogger("trawl.activities")

PROGRESS_CALL_SECONDS = 3.0
STATE_NAMES = {int(v): k.removeprefix("RUN_STATE_") for k, v in pb.RunState.items()}


@dataclass(frozen=True)
class RunPlanView:
    run_id: str
    organization_id: str
    project_id: str
    report_id: str
    state: str  # RunState name, e.g. "RUNNING"
    attempt: int
    max_attempts: int
    backoff_seconds: int
    timeout_seconds: int
    service_code: str
    entry_point: str
    image: str
    version: str
    parameters_json: str
    cpu: str
    memory: str
    record_key_fields: list[str] = field(default_factory=list)

    def spec(self, attempt: int, env: dict[str, str] | None = None) -> CrawlerSpec:
        keys = {"TRAWL_RECORD_KEY_FIELDS": ",".join(self.record_key_fields)}
        return CrawlerSpec(
            run_id=self.run_id,
            attempt=attempt,
            organization_id=self.organization_id,
            project_id=self.project_id,
            report_id=self.report_id,
            service_code=self.service_code,
            entry_point=self.entry_point,
            image=self.image,
            version=self.version,
            parameters=json.loads(self.parameters_json or "{}"),
            timeout_seconds=self.timeout_seconds,
            cpu=self.cpu,
            memory=self.memory,
            env=keys | dict(env or {}),
        )


@dataclass(frozen=True)
class TransitionRequest:
    run_id: str
    state: str  # target RunState name
    attempt: int
    failure_reason: str = ""
    stats: dict[str, int] | None = None
    exit_code: int | None = None


@dataclass(frozen=True)
class TransitionResult:
    applied: bool
    state: str  # the run's state after the call ("GONE" when the run no longer exists)
    attempt: int


@dataclass(frozen=True)
class OutcomeView:
    succeeded: bool
    exit_code: int | None
    reason: str
    stats: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, outcome: CrawlerOutcome) -> OutcomeView:
        return cls(outcome.succeeded, outcome.exit_code, outcome.reason, dict(outcome.stats))


def crawler_env(settings: Settings) -> dict[str, str]:
    """What a crawler and its forwarder need from the platform's settings, as environment
    (they never read the settings themselves)."""
    endpoint = settings.aws_endpoint
    return {
        "TRAWL_AWS_USE_EMBEDDED": "false",
        "TRAWL_AWS_ENDPOINT_URL": endpoint or "",
        "TRAWL_AWS_REGION": settings.aws_region,
        "TRAWL_KINESIS_STREAM": settings.kinesis_stream,
        "TRAWL_RUN_LOGS_TABLE": settings.run_logs_table,
        "TRAWL_CRAWLER_USER_AGENT": settings.crawler_user_agent,
        "TRAWL_CRAWLER_PROXY_URL": settings.crawler_proxy_url,
        "TRAWL_CRAWLER_DOMAIN_CONCURRENCY": str(settings.crawler_domain_concurrency),
        "TRAWL_CRAWLER_DOMAIN_DELAY_SECONDS": str(settings.crawler_domain_delay_seconds),
        "TRAWL_CRAWLER_MAX_RETRIES": str(settings.crawler_max_retries),
        "TRAWL_BUFFER_CHUNK_RECORDS": str(settings.buffer_chunk_records),
        "TRAWL_BUFFER_CHUNK_BYTES": str(settings.buffer_chunk_bytes),
    }


def _stats_pb(stats: dict[str, int]) -> pb.RunStats:
    return pb.RunStats(
        **{k: int(v) for k, v in stats.items() if k in pb.RunStats.DESCRIPTOR.fields_by_name}
    )


class RunActivities:
    def __init__(
        self,
        settings: Settings,
        runs: RunsClient,
        tokens: SystemTokenProvider,
        runner: CrawlerRunner,
        schedules: ScheduleSync,
    ) -> None:
        self.settings = settings
        self.runs = runs
        self.tokens = tokens
        self.runner = runner
        self.schedules = schedules

    async def _call(self, method: Any, request: Any) -> Any:
        try:
            return await self.runs.call(method, request, token=await self.tokens.token())
        except ServiceError as error:
            if error.code in ("INVALID_INPUT", "PERMISSION_DENIED", "UNAUTHENTICATED"):
                raise ApplicationError(str(error), type=error.code, non_retryable=True) from None
            raise

    @activity.defn(name="load_run_plan")
    async def load_plan(self, run_id: str) -> RunPlanView | None:
        try:
            plan = await self._call(self.runs.stub.GetRunPlan, pb.GetRunPlanRequest(run_id=run_id))
        except ServiceError as error:
            if error.code == "NOT_FOUND":
                return None
            raise
        run = plan.run
        return RunPlanView(
            run_id=run.id,
            organization_id=run.organization_id,
            project_id=run.project_id,
            report_id=run.report_id,
            state=STATE_NAMES[run.state],
            attempt=run.attempt,
            max_attempts=run.max_attempts,
            backoff_seconds=run.retry_backoff_seconds,
            timeout_seconds=run.timeout_seconds,
            service_code=plan.service_code,
            entry_point=plan.entry_point,
            image=plan.image,
            version=plan.version,
            parameters_json=plan.parameters_json,
            cpu=plan.cpu,
            memory=plan.memory,
            record_key_fields=list(plan.record_key_fields),
        )

    @activity.defn(name="transition_run")
    async def transition(self, request: TransitionRequest) -> TransitionResult:
        message = pb.TransitionRunRequest(
            run_id=request.run_id,
            state=f"RUN_STATE_{request.state}",
            attempt=request.attempt,
            failure_reason=request.failure_reason[:2000],
        )
        if request.stats:
            message.stats.CopyFrom(_stats_pb(request.stats))
        if request.exit_code is not None:
            message.exit_code = request.exit_code
        try:
            run = await self._call(self.runs.stub.TransitionRun, message)
        except ServiceError as error:
            if error.code not in ("PRECONDITION_FAILED", "NOT_FOUND"):
                raise
            # Refused (e.g. the user cancelled meanwhile): tell the workflow where the run is.
            plan = await self.load_plan(request.run_id)
            if plan is None:
                return TransitionResult(applied=False, state="GONE", attempt=request.attempt)
            return TransitionResult(applied=False, state=plan.state, attempt=plan.attempt)
        return TransitionResult(applied=True, state=STATE_NAMES[run.state], attempt=run.attempt)

    @activity.defn(name="launch_crawler")
    async def launch(self, spec: CrawlerSpec) -> str:
        # Where records and logs go is the worker's business, not the workflow's.
        spec = dataclasses.replace(spec, env=crawler_env(self.settings) | spec.env)
        handle = await self.runner.launch(spec)
        log.info("crawler=launched run=%s attempt=%d handle=%s", spec.run_id, spec.attempt, handle)
        return handle

    @activity.defn(name="await_crawler")
    async def await_outcome(self, spec: CrawlerSpec) -> OutcomeView:
        """Polls until the crawler ends, heartbeating so a dead worker is noticed quickly;
        a retry on another worker re-attaches to the same crawler."""
        interval = self.settings.crawler_heartbeat_seconds
        reported: dict[str, int] | None = None
        next_report = 0.0
        loop = asyncio.get_running_loop()
        while True:
            outcome = await self.runner.outcome(spec)
            if outcome is not None:
                return OutcomeView.of(outcome)
            activity.heartbeat()
            if loop.time() >= next_report:
                reported = await self._report_progress(spec, reported)
                next_report = loop.time() + self.settings.progress_interval_seconds
            await asyncio.sleep(interval)

    async def _report_progress(
        self, spec: CrawlerSpec, last: dict[str, int] | None
    ) -> dict[str, int] | None:
        """Counters reach the runs service while the crawler runs; a failure to report is
        logged and retried at the next interval, never fails the run."""
        stats = await self.runner.progress(spec)
        if not stats or stats == last:
            return last
        try:
            # Bounded well under the heartbeat timeout: a slow service must not look like a
            # dead worker.
            await asyncio.wait_for(
                self._call(
                    self.runs.stub.ReportRunProgress,
                    pb.ReportRunProgressRequest(
                        run_id=spec.run_id, attempt=spec.attempt, stats=_stats_pb(stats)
                    ),
                ),
                timeout=PROGRESS_CALL_SECONDS,
            )
        except (ServiceError, ApplicationError, TimeoutError) as error:
            log.warning("progress=not_reported run=%s error=%s", spec.run_id, error)
            return last
        return stats

    @activity.defn(name="stop_crawler")
    async def stop(self, spec: CrawlerSpec) -> dict[str, int]:
        await self.runner.stop(spec, self.settings.crawler_stop_grace_seconds)
        return await self.runner.progress(spec) or {}

    @activity.defn(name="request_scheduled_run")
    async def request_scheduled_run(self, request: ScheduledRunInput) -> str:
        info = activity.info()
        reply = await self._call(
            self.runs.stub.RequestScheduledRun,
            pb.RequestScheduledRunRequest(
                report_id=request.report_id,
                trigger_key=f"schedule:{info.workflow_id}",
                schedule_id=f"report-schedule-{request.report_id}",
            ),
        )
        if reply.HasField("run"):
            return str(reply.run.id)
        log.info("schedule=skipped report=%s reason=%s", request.report_id, reply.skipped_reason)
        return ""

    @activity.defn(name="sync_report_schedule")
    async def sync_schedule(self, request: SyncScheduleInput) -> None:
        reply = await self._call(
            self.runs.stub.GetReportSchedule,
            pb.GetReportScheduleRequest(report_id=request.report_id),
        )
        if not reply.exists or not reply.active or not reply.cron:
            await self.schedules.delete(request.report_id)
            return
        await self.schedules.apply(
            request.report_id,
            reply.organization_id,
            parse_schedule(reply.cron, reply.timezone),
            reply.paused,
        )

    def all(self) -> list[Any]:
        return [
            self.load_plan,
            self.transition,
            self.launch,
            self.await_outcome,
            self.stop,
            self.request_scheduled_run,
            self.sync_schedule,
        ]
