"""Nested run listings: `project { reports { runs { attempts } } } }` answered with the batched
RPCs (one call per level) against the same data read the way the gateway did before them (one
ListRuns per report, one ListRunAttempts per run), both over the same gRPC services, plus the
GraphQL query through the gateway. Embedded platform on temp SQLite, no worker: runs are
triggered and cancelled so the organization's run limit never stops the seeding.

    .venv/bin/python -m bench.gateway.nested_runs [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
from sqlalchemy import event

from bench.gateway.run import Result, StatementCounter, measure
from tests.support.graphql import GraphQLClient, Person, new_owner_with_project, new_report
from tests.support.platform import RunningPlatform, platform_settings, start_platform
from trawl.graphql.relay import raw_id
from trawl.grpc_services.gen.common.v1 import common_pb2
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.grpc_services.gen.reports.v1 import reports_pb2_grpc

REPORTS = 20
RUNS_PER_REPORT = 3
QUERY = """query($id: ID!, $n: Int!, $r: Int!) { project(id: $id) { reports(first: $n) { nodes {
  id runs(first: $r) { totalCount nodes { id state attempts { attempt state } } } } } } }"""


async def seed(gql: GraphQLClient) -> tuple[Person, str]:
    owner, _org, project = await new_owner_with_project(gql)
    for _ in range(REPORTS):
        report = await new_report(gql, owner, project)
        for _ in range(RUNS_PER_REPORT):
            run = await gql.mutate(
                "triggerRun", {"reportId": report["id"]}, "run { id }", token=owner.token
            )
            cancelled = await gql.mutate(
                "cancelRun", {"runId": run["run"]["id"]}, "run { state }", token=owner.token
            )
            assert cancelled["errors"] == [], cancelled
    return owner, project


def gateway_call(
    http: httpx.AsyncClient, running: RunningPlatform, token: str, project: str
) -> Callable[[], Awaitable[int | None]]:
    headers = {"authorization": f"Bearer {token}"}
    body = {"query": QUERY, "variables": {"id": project, "n": REPORTS, "r": RUNS_PER_REPORT}}

    async def call() -> int | None:
        response = await http.post(running.graphql_url, json=body, headers=headers)
        payload: dict[str, Any] = response.json()
        assert response.status_code == 200 and not payload.get("errors"), payload
        nodes = payload["data"]["project"]["reports"]["nodes"]
        assert sum(len(n["runs"]["nodes"]) for n in nodes) == REPORTS * RUNS_PER_REPORT
        return int(payload["extensions"]["trawl"]["grpcCalls"])

    return call


class GrpcReads:
    """The same three levels read over gRPC, batched or one call per item."""

    def __init__(self, channel: grpc.aio.Channel, token: str, project_id: str) -> None:
        self.reports = reports_pb2_grpc.ReportsServiceStub(channel)
        self.runs = reports_pb2_grpc.RunsServiceStub(channel)
        self.auth = (("authorization", f"Bearer {token}"),)
        self.project_id = project_id
        self.run_page = common_pb2.PageRequest(first=RUNS_PER_REPORT)

    async def _report_ids(self) -> list[str]:
        reply = await self.reports.ListReports(
            pb.ListReportsRequest(
                project_id=self.project_id, page=common_pb2.PageRequest(first=REPORTS)
            ),
            metadata=self.auth,
        )
        return [r.id for r in reply.reports]

    async def batched(self) -> int | None:
        report_ids = await self._report_ids()
        pages = await self.runs.BatchListReportRuns(
            pb.BatchListReportRunsRequest(report_ids=report_ids, page=self.run_page),
            metadata=self.auth,
        )
        run_ids = [run.id for page in pages.pages for run in page.runs]
        await self.runs.BatchListRunAttempts(
            pb.BatchListRunAttemptsRequest(run_ids=run_ids), metadata=self.auth
        )
        assert len(run_ids) == REPORTS * RUNS_PER_REPORT
        return 3

    async def per_item(self) -> int | None:
        report_ids = await self._report_ids()
        pages = await asyncio.gather(
            *(
                self.runs.ListRuns(
                    pb.ListRunsRequest(report_id=report_id, page=self.run_page),
                    metadata=self.auth,
                )
                for report_id in report_ids
            )
        )
        run_ids = [run.id for page in pages for run in page.runs]
        await asyncio.gather(
            *(
                self.runs.ListRunAttempts(
                    pb.ListRunAttemptsRequest(run_id=run_id), metadata=self.auth
                )
                for run_id in run_ids
            )
        )
        assert len(run_ids) == REPORTS * RUNS_PER_REPORT
        return 1 + len(report_ids) + len(run_ids)


def print_table(results: list[Result]) -> None:
    header = (
        f"{'path':<16} {'reqs':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'grpc/req':>9} {'sql/req':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        grpc_calls = f"{r.grpc_calls:.1f}" if r.grpc_calls is not None else "-"
        print(
            f"{r.label:<16} {r.requests:>5} {r.rps:>8.1f} {r.percentile(50):>8.2f} "
            f"{r.percentile(99):>8.2f} {grpc_calls:>9} {r.sql_statements:>8.1f}"
        )
    by_label = {r.label: r for r in results}
    batched, per_item = by_label["grpc batched"], by_label["grpc per item"]
    print(
        f"\nbatched/per-item over gRPC: req/s x{batched.rps / per_item.rps:.2f}, "
        f"p50 x{batched.percentile(50) / per_item.percentile(50):.2f}, "
        f"sql/req x{batched.sql_statements / per_item.sql_statements:.2f}"
    )


async def main(requests: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="trawl-bench-") as tmp:
        data_dir = Path(tmp)
        url = f"sqlite+aiosqlite:///{data_dir / 'trawl.db'}"
        running = await start_platform(platform_settings(data_dir, url), "sqlite")
        try:
            async with (
                httpx.AsyncClient(timeout=30) as http,
                grpc.aio.insecure_channel(running.grpc_target) as channel,
            ):
                gql = GraphQLClient(running, http)
                started = time.perf_counter()
                owner, project = await seed(gql)
                print(
                    f"seeded {REPORTS} reports x {RUNS_PER_REPORT} runs in "
                    f"{time.perf_counter() - started:.1f}s; {requests} requests, "
                    f"concurrency {concurrency}\n"
                )
                db = running.platform.db
                assert db is not None
                counter = StatementCounter()
                event.listen(db.engine.sync_engine, "before_cursor_execute", counter)
                reads = GrpcReads(channel, owner.token, raw_id(project, "Project"))
                results = [
                    await measure(
                        label,
                        REPORTS,
                        call,
                        requests=requests,
                        concurrency=concurrency,
                        counter=counter,
                    )
                    for label, call in (
                        ("gateway", gateway_call(http, running, owner.token, project)),
                        ("grpc batched", reads.batched),
                        ("grpc per item", reads.per_item),
                    )
                ]
                event.remove(db.engine.sync_engine, "before_cursor_execute", counter)
                print_table(results)
        finally:
            await running.platform.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency))


if __name__ == "__main__":
    cli()
