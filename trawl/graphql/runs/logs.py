"""`Run.logs`: the crawler's log lines and the runner's captured output, oldest first,
optionally from a level up. Cursors resume exactly after the last line returned."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Protocol

import strawberry

from trawl.graphql.context import Context
from trawl.graphql.relay import PageInfo, decode_cursor, encode_cursor
from trawl.graphql.scalars import required_datetime
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb


@strawberry.enum
class LogLevel(Enum):
    DEBUG = pb.LOG_LEVEL_DEBUG
    INFO = pb.LOG_LEVEL_INFO
    WARNING = pb.LOG_LEVEL_WARNING
    ERROR = pb.LOG_LEVEL_ERROR


@strawberry.type
class RunLogLine:
    attempt: int
    at: datetime
    level: LogLevel
    stream: str = strawberry.field(description="stdout, stderr, or the crawler's own log")
    message: str
    cursor: str = strawberry.field(
        description="This line's position: `after` for `logs` or `runLogs` continues after it"
    )

    @classmethod
    def from_pb(cls, line: pb.RunLogLine) -> RunLogLine:
        return cls(
            cursor=encode_cursor(line.cursor),
            attempt=line.attempt,
            at=required_datetime(line, "at"),
            level=LogLevel(line.level),
            stream=line.stream,
            message=line.message,
        )


@strawberry.type(description="Log lines in order; continue with `pageInfo.endCursor`.")
class RunLogConnection:
    nodes: list[RunLogLine]
    page_info: PageInfo


class _HasRawId(Protocol):
    raw_id: str


async def run_logs(
    root: _HasRawId,
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    level: LogLevel | None = None,
) -> RunLogConnection:
    ctx = info.context
    runs = ctx.clients.runs
    reply = await ctx.query(
        runs,
        runs.stub.ListRunLogs,
        pb.ListRunLogsRequest(
            run_id=root.raw_id,
            first=ctx.page_args(first),
            after=decode_cursor(after),
            min_level=level.value if level else pb.LOG_LEVEL_UNSPECIFIED,
        ),
    )
    end = encode_cursor(reply.end_cursor) if reply.end_cursor else None
    return RunLogConnection(
        nodes=[RunLogLine.from_pb(line) for line in reply.lines],
        page_info=PageInfo(has_next_page=reply.has_next_page, end_cursor=end),
    )
