"""GraphQL types of the crawler registry and of reports, built from ServiceCodesService and
ReportsService replies."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from trawl.graphql.context import Context
from trawl.graphql.datasets.queries import report_latest_dataset
from trawl.graphql.node import Node
from trawl.graphql.relay import Connection, to_global_id
from trawl.graphql.reports.destination_types import Destination, report_destinations
from trawl.graphql.reports.documents import document, object_document
from trawl.graphql.scalars import required_datetime, to_datetime
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb

if TYPE_CHECKING:
    from trawl.graphql.projects.types import Project
    from trawl.graphql.runs.types import Run, RunState


@strawberry.enum
class ReportState(Enum):
    ACTIVE = pb.REPORT_STATE_ACTIVE
    ARCHIVED = pb.REPORT_STATE_ARCHIVED


@strawberry.type(description="A registered crawler: what a report runs.")
class ServiceCode(Node):
    code: str
    title: str
    description: str
    image: str
    version: str
    entry_point: str
    parameters_schema: JSON = strawberry.field(
        description="JSON Schema (draft 2020-12) of a report's parameters."
    )
    record_schema: JSON = strawberry.field(description="JSON Schema of the records it emits.")
    default_timeout_seconds: int
    cpu: str
    memory: str
    active: bool = strawberry.field(description="False once retired.")
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_pb(cls, code: pb.ServiceCode) -> ServiceCode:
        return cls(
            id=to_global_id("ServiceCode", code.code),
            code=code.code,
            title=code.title,
            description=code.description,
            image=code.image,
            version=code.version,
            entry_point=code.entry_point,
            parameters_schema=object_document(code.parameters_schema_json),
            record_schema=object_document(code.record_schema_json),
            default_timeout_seconds=code.default_timeout_seconds,
            cpu=code.cpu,
            memory=code.memory,
            active=code.active,
            created_at=required_datetime(code, "created_at"),
            updated_at=to_datetime(code, "updated_at"),
        )


@strawberry.type
class RetryPolicy:
    max_attempts: int
    backoff_seconds: int


@strawberry.type
class Schedule:
    cron: str
    timezone: str
    paused: bool
    next_fire_times: list[datetime] = strawberry.field(
        description="The next five fire times (UTC); empty when paused or archived."
    )

    @classmethod
    def from_pb(cls, schedule: pb.Schedule) -> Schedule:
        return cls(
            cron=schedule.cron,
            timezone=schedule.timezone,
            paused=schedule.paused,
            next_fire_times=[t.ToDatetime(tzinfo=UTC) for t in schedule.next_fire_times],
        )


@strawberry.type
class Report(Node):
    raw_id: strawberry.Private[str]
    raw_project_id: strawberry.Private[str]
    raw_service_code: strawberry.Private[str]
    name: str
    description: str
    parameters: JSON
    record_schema: JSON = strawberry.field(description="The schema records are validated with.")
    timeout_seconds: int
    retry: RetryPolicy
    delivery: JSON | None = strawberry.field(
        deprecation_reason="Free-form legacy settings; use `destinations`."
    )
    schedule: Schedule | None
    record_key_fields: list[str]
    state: ReportState
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_pb(cls, report: pb.Report) -> Report:
        return cls(
            id=to_global_id("Report", report.id),
            raw_id=report.id,
            raw_project_id=report.project_id,
            raw_service_code=report.service_code,
            name=report.name,
            description=report.description,
            parameters=object_document(report.parameters_json),
            record_schema=object_document(report.record_schema_json),
            timeout_seconds=report.timeout_seconds,
            retry=RetryPolicy(
                max_attempts=report.retry.max_attempts,
                backoff_seconds=report.retry.backoff_seconds,
            ),
            delivery=document(report.delivery_json),
            schedule=Schedule.from_pb(report.schedule) if report.HasField("schedule") else None,
            record_key_fields=list(report.record_key_fields),
            state=ReportState(report.state),
            created_at=required_datetime(report, "created_at"),
            updated_at=to_datetime(report, "updated_at"),
        )

    @strawberry.field(description="Where runs are delivered, in order; secrets never shown.")
    async def destinations(self, info: strawberry.Info[Context, None]) -> list[Destination]:
        return await report_destinations(info, self.raw_id)

    @strawberry.field
    async def service_code(self, info: strawberry.Info[Context, None]) -> ServiceCode | None:
        found = await info.context.loaders.service_code_by_code.load(self.raw_service_code)
        return ServiceCode.from_pb(found) if found else None

    @strawberry.field
    async def project(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[Project, strawberry.lazy("trawl.graphql.projects.types")] | None:
        from trawl.graphql.projects.types import Project

        found = await info.context.loaders.project_by_id.load(self.raw_project_id)
        return Project.from_pb(found) if found else None

    @strawberry.field(description="Runs of this report, newest first.")
    async def runs(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        states: list[Annotated[RunState, strawberry.lazy("trawl.graphql.runs.types")]]
        | None = None,
    ) -> Connection[Annotated[Run, strawberry.lazy("trawl.graphql.runs.types")]]:
        from trawl.graphql.runs.queries import report_runs_connection

        return await report_runs_connection(
            info.context, self.raw_id, first=first, after=after, states=states
        )

    latest_dataset = strawberry.field(
        resolver=report_latest_dataset,
        description="The dataset of the report's most recent SUCCEEDED run (the last to "
        "finish); null when it has none.",
    )
