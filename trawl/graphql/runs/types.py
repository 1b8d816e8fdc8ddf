"""GraphQL types of runs, built from RunsService replies."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from trawl.graphql.accounts.types import User
from trawl.graphql.context import Context
from trawl.graphql.datasets.queries import run_dataset
from trawl.graphql.node import Node
from trawl.graphql.relay import to_global_id
from trawl.graphql.reports.types import Report
from trawl.graphql.runs.deliveries import Delivery, list_run_deliveries
from trawl.graphql.runs.logs import run_logs
from trawl.graphql.scalars import Long, required_datetime, to_datetime
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb

if TYPE_CHECKING:
    from trawl.graphql.projects.types import Project


@strawberry.enum
class RunState(Enum):
    QUEUED = pb.RUN_STATE_QUEUED
    STARTING = pb.RUN_STATE_STARTING
    RUNNING = pb.RUN_STATE_RUNNING
    CANCELLING = pb.RUN_STATE_CANCELLING
    SUCCEEDED = pb.RUN_STATE_SUCCEEDED
    FAILED = pb.RUN_STATE_FAILED
    CANCELLED = pb.RUN_STATE_CANCELLED
    TIMED_OUT = pb.RUN_STATE_TIMED_OUT


@strawberry.enum
class TriggerKind(Enum):
    MANUAL = pb.TRIGGER_KIND_MANUAL
    SCHEDULE = pb.TRIGGER_KIND_SCHEDULE
    RERUN = pb.TRIGGER_KIND_RERUN


@strawberry.type(description="What started a run.")
class Trigger:
    kind: TriggerKind
    raw_user_id: strawberry.Private[str | None]
    schedule_id: str | None = strawberry.field(description="For scheduled runs.")

    @classmethod
    def from_pb(cls, run: pb.Run) -> Trigger:
        kind = TriggerKind(run.trigger_kind)
        by = run.triggered_by or None
        if kind is TriggerKind.SCHEDULE:
            return cls(kind=kind, raw_user_id=None, schedule_id=by)
        return cls(kind=kind, raw_user_id=by, schedule_id=None)

    @strawberry.field(description="Who triggered a manual run or a rerun.")
    async def user(self, info: strawberry.Info[Context, None]) -> User | None:
        if self.raw_user_id is None:
            return None
        found = await info.context.loaders.user_by_id.load(self.raw_user_id)
        return User.from_pb(found) if found else None


@strawberry.type(
    description="A run's counters: the crawler's (pages, records, bytes) and the stream's "
    "(what became of the records it emitted)."
)
class RunStats:
    pages: Long
    records: Long = strawberry.field(description="Records the crawler emitted.")
    errors: Long = strawberry.field(
        description="The crawler's errors plus the records rejected as invalid."
    )
    bytes: Long
    accepted: Long = strawberry.field(
        description="Records that passed the report's record schema and were stored."
    )
    rejected: Long = strawberry.field(
        description="Records that failed the report's record schema (not stored)."
    )
    duplicates: Long = strawberry.field(
        description="Records dropped because a record with the same key was already stored."
    )
    stored_bytes: Long = strawberry.field(description="Bytes stored for the accepted records.")

    @classmethod
    def from_pb(cls, run: pb.Run) -> RunStats:
        stats, stream = run.stats, run.stream
        return cls(
            pages=Long(stats.pages),
            records=Long(stats.records),
            errors=Long(stats.errors + stream.rejected),
            bytes=Long(stats.bytes),
            accepted=Long(stream.accepted),
            rejected=Long(stream.rejected),
            duplicates=Long(stream.duplicates),
            stored_bytes=Long(stream.stored_bytes),
        )


@strawberry.type(description="One launch of a run's crawler; a retried run has several.")
class RunAttempt:
    attempt: int
    state: RunState
    started_at: datetime | None
    running_at: datetime | None
    finished_at: datetime | None
    failure_reason: str | None
    exit_code: int | None

    @classmethod
    def from_pb(cls, attempt: pb.RunAttempt) -> RunAttempt:
        return cls(
            attempt=attempt.attempt,
            state=RunState(attempt.state),
            started_at=to_datetime(attempt, "started_at"),
            running_at=to_datetime(attempt, "running_at"),
            finished_at=to_datetime(attempt, "finished_at"),
            failure_reason=attempt.failure_reason or None,
            exit_code=attempt.exit_code if attempt.HasField("exit_code") else None,
        )


@strawberry.type
class Run(Node):
    raw_id: strawberry.Private[str]
    raw_report_id: strawberry.Private[str]
    raw_project_id: strawberry.Private[str]
    raw_rerun_of_id: strawberry.Private[str]
    state: RunState
    attempt: int = strawberry.field(description="The current attempt; 0 before the first.")
    max_attempts: int
    trigger: Trigger
    failure_reason: str | None
    stats: RunStats
    queued_at: datetime
    started_at: datetime | None
    running_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    timeout_seconds: int
    dataset_ready_at: datetime | None = strawberry.field(
        description="When the run had ended and every record it emitted had been validated "
        "and stored: its dataset is complete from then on. Null until then."
    )

    @classmethod
    def from_pb(cls, run: pb.Run) -> Run:
        return cls(
            id=to_global_id("Run", run.id),
            raw_id=run.id,
            raw_report_id=run.report_id,
            raw_project_id=run.project_id,
            raw_rerun_of_id=run.rerun_of_id,
            state=RunState(run.state),
            attempt=run.attempt,
            max_attempts=run.max_attempts,
            trigger=Trigger.from_pb(run),
            failure_reason=run.failure_reason or None,
            stats=RunStats.from_pb(run),
            queued_at=required_datetime(run, "queued_at"),
            started_at=to_datetime(run, "started_at"),
            running_at=to_datetime(run, "running_at"),
            finished_at=to_datetime(run, "finished_at"),
            cancel_requested_at=to_datetime(run, "cancel_requested_at"),
            timeout_seconds=run.timeout_seconds,
            dataset_ready_at=to_datetime(run, "dataset_ready_at"),
        )

    @strawberry.field(description="The run this one re-runs, for reruns.")
    async def rerun_of(self, info: strawberry.Info[Context, None]) -> Run | None:
        if not self.raw_rerun_of_id:
            return None
        found = await info.context.loaders.run_by_id.load(self.raw_rerun_of_id)
        return Run.from_pb(found) if found else None

    @strawberry.field
    async def report(self, info: strawberry.Info[Context, None]) -> Report | None:
        found = await info.context.loaders.report_by_id.load(self.raw_report_id)
        return Report.from_pb(found) if found else None

    @strawberry.field
    async def project(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[Project, strawberry.lazy("trawl.graphql.projects.types")] | None:
        from trawl.graphql.projects.types import Project

        found = await info.context.loaders.project_by_id.load(self.raw_project_id)
        return Project.from_pb(found) if found else None

    logs = strawberry.field(
        resolver=run_logs, description="Log lines of every attempt, oldest first."
    )
    dataset = strawberry.field(
        resolver=run_dataset,
        description="The run's stored records, filtered and projected on the report's "
        "declared record fields; null only with an error.",
    )

    @strawberry.field(description="Every attempt so far, oldest first.")
    async def attempts(self, info: strawberry.Info[Context, None]) -> list[RunAttempt]:
        attempts = await info.context.loaders.attempts_by_run.load(self.raw_id)
        return [RunAttempt.from_pb(a) for a in attempts]

    @strawberry.field(description="Where the run's dataset went: one per destination.")
    async def deliveries(self, info: strawberry.Info[Context, None]) -> list[Delivery]:
        return await list_run_deliveries(info.context, self.raw_id)
