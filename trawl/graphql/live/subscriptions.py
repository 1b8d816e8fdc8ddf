"""The Subscription root: a run's state and stats, its log lines, and every run of a project.

Each subscription first checks access exactly like the matching query (the service answers
with the caller's token, so another organization's run is "not found"), then subscribes to
the run's or project's channel BEFORE reading the current value, so no change can fall in
between. State and stats conflate for a slow client (it gets the newest, never a backlog);
after a broker resync (Redis came back) the current value is read again and sent.

Log lines are read from the run log store at the client's own pace, from the cursor it
gives: a channel message only wakes the reader early (the crawler's log forwarder hints new
lines), and without one it looks again every `live_log_poll_seconds`. Nothing is buffered
for a client, so a slow one never costs memory or delays another, and a client that
reconnects with its last line's cursor continues without gaps or repeats."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from trawl.graphql.context import Context
from trawl.graphql.errors import UserInputError, graphql_error
from trawl.graphql.relay import decode_cursor, raw_id
from trawl.graphql.runs.logs import LogLevel, RunLogLine
from trawl.graphql.runs.types import Run
from trawl.grpc_services.gen.common.v1 import common_pb2
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.live.broker import Broadcaster
from trawl.live.channels import project_runs_channel, run_channel, run_logs_channel
from trawl.live.keyed_latest import LatestPerKey
from trawl.live.run_updates import decode_run
from trawl.live.subscriber_queues import RESYNC, LatestValue

LOG_PAGE = 100  # the service caps a page at 100
PROJECT_RESYNC_RUNS = 50
# Access is checked at subscribe time and again at least this often while changes flow, so a
# member removed from the project stops receiving them within this long.
ACCESS_RECHECK_SECONDS = 60.0


class _AccessCheck:
    """When a subscription's access is due to be checked again (a monotonic clock)."""

    def __init__(self) -> None:
        self.checked_at = asyncio.get_running_loop().time()

    def due(self) -> bool:
        now = asyncio.get_running_loop().time()
        if now - self.checked_at < ACCESS_RECHECK_SECONDS:
            return False
        self.checked_at = now
        return True


def _live(ctx: Context) -> Broadcaster:
    if ctx.live is None:
        raise GraphQLError(
            "live updates are not available on this gateway", extensions={"code": "UNAVAILABLE"}
        )
    return ctx.live


def _raw(global_id: str, expected: str, field: str) -> str:
    try:
        return raw_id(global_id, expected, field)
    except UserInputError as error:
        raise graphql_error(error) from None


async def _get_run(ctx: Context, run_id: str) -> pb.Run:
    runs = ctx.clients.runs
    return await ctx.query(runs, runs.stub.GetRun, pb.GetRunRequest(id=run_id))


async def _project_runs(ctx: Context, project_id: str, first: int) -> list[pb.Run]:
    runs = ctx.clients.runs
    reply = await ctx.query(
        runs,
        runs.stub.ListRuns,
        pb.ListRunsRequest(project_id=project_id, page=common_pb2.PageRequest(first=first)),
    )
    return list(reply.runs)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="A run's state, attempt, stats and failure reason: the current value "
        "first, then every change (a slow client gets the newest, never a backlog)."
    )
    async def run_updated(
        self, info: strawberry.Info[Context, None], run_id: strawberry.ID
    ) -> AsyncGenerator[Run, None]:
        ctx = info.context
        raw = _raw(run_id, "Run", "runId")
        queue = LatestValue()
        async with _live(ctx).subscribe(run_channel(raw), queue):
            yield Run.from_pb(await _get_run(ctx, raw))
            access = _AccessCheck()
            while True:
                item = await queue.get()
                if item is RESYNC or access.due():
                    run: pb.Run | None = await _get_run(ctx, raw)  # raises once access is lost
                else:
                    run = decode_run(item)
                # Only this run's own updates, whatever reached its channel.
                if run is not None and run.id == raw:
                    yield Run.from_pb(run)

    @strawberry.subscription(
        description="Every run of a project as it is created, changes state or gets its "
        "final stats (the newest value per run for a slow client)."
    )
    async def project_runs_updated(
        self, info: strawberry.Info[Context, None], project_id: strawberry.ID
    ) -> AsyncGenerator[Run, None]:
        ctx = info.context
        raw = _raw(project_id, "Project", "projectId")
        queue = LatestPerKey(lambda message: str(message.get("run_id", "")))
        async with _live(ctx).subscribe(project_runs_channel(raw), queue):
            # Access as for `project.runs`; nothing is sent until something changes.
            await _project_runs(ctx, raw, 1)
            access = _AccessCheck()
            while True:
                item = await queue.get()
                if item is not RESYNC and access.due():
                    await _project_runs(ctx, raw, 1)  # raises once access is lost
                if item is RESYNC:
                    for run in reversed(await _project_runs(ctx, raw, PROJECT_RESYNC_RUNS)):
                        yield Run.from_pb(run)
                    continue
                decoded = decode_run(item)
                # Only runs of this project, whatever reached its channel.
                if decoded is not None and decoded.project_id == raw:
                    yield Run.from_pb(decoded)

    @strawberry.subscription(
        description="The run's log lines in order, from after `after` (a line's cursor; "
        "omitted: from the first line), then each new line as it is written. Reconnect with "
        "the last cursor received to continue without gaps or repeats."
    )
    async def run_logs(
        self,
        info: strawberry.Info[Context, None],
        run_id: strawberry.ID,
        after: str | None = None,
        level: LogLevel | None = None,
    ) -> AsyncGenerator[RunLogLine, None]:
        ctx = info.context
        raw = _raw(run_id, "Run", "runId")
        cursor = decode_cursor(after) if after else ""
        hints = LatestValue()
        runs = ctx.clients.runs
        async with _live(ctx).subscribe(run_logs_channel(raw), hints):
            await _get_run(ctx, raw)  # access as for `run`
            while True:
                reply = await ctx.query(
                    runs,
                    runs.stub.ListRunLogs,
                    pb.ListRunLogsRequest(
                        run_id=raw,
                        first=LOG_PAGE,
                        after=cursor,
                        min_level=level.value if level else pb.LOG_LEVEL_UNSPECIFIED,
                    ),
                )
                for line in reply.lines:
                    yield RunLogLine.from_pb(line)
                    cursor = line.cursor
                if reply.has_next_page:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(hints.get(), ctx.settings.live_log_poll_seconds)
