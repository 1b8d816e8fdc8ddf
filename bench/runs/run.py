"""Trigger-to-RUNNING latency of runs: the full event path (GraphQL triggerRun → outbox →
relay → EventBridge → SQS → poller → handler → Temporal → worker → crawler subprocess)
beside a baseline in the same run that starts the RunReportWorkflow straight after the
trigger (no relay, bus, queue or poller), so the difference is what the event path costs.

Latencies come from the run's own server-side timestamps (queuedAt → startedAt → runningAt),
so polling does not blur them. Runs are triggered one at a time.

    .venv/bin/python -m bench.runs.run [--runs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from temporalio.client import Client

from tests.support.graphql import GraphQLClient, new_org, new_person, new_project, new_report
from tests.support.platform import RunningPlatform, free_port
from tests.support.runs import raw_id, wait_for_run
from trawl.config import Settings
from trawl.devservers import ChildServer, start_moto, start_temporal
from trawl.embedded import EmbeddedPlatform
from trawl.tenants.issuer import LocalIssuer
from trawl.workflows.inputs import RUN_WORKFLOW, RunInput, run_workflow_id

WARMUP = 3


@dataclass
class Sample:
    to_starting: float
    to_running: float


def _seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def _settings(data_dir: Path, aws_port: int, temporal_port: int, *, queue: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        gateway_port=free_port(),
        issuer_port=free_port(),
        grpc_port=free_port(),
        aws_port=aws_port,
        aws_endpoint_url=f"http://127.0.0.1:{aws_port}",
        temporal_address=f"127.0.0.1:{temporal_port}",
        temporal_task_queue=queue,
        event_bus_name=f"bench-{queue}",
        event_queue_name=f"bench-{queue}",
        event_rule_name=f"bench-{queue}",
        audit_table=f"bench-{queue}",
        crawler_heartbeat_seconds=0.2,
        max_concurrent_runs=100,
        log_level="WARNING",
    )


async def _measure(platform: RunningPlatform, runs: int, *, direct: Client | None) -> list[Sample]:
    samples: list[Sample] = []
    async with httpx.AsyncClient(timeout=60) as http:
        gql = GraphQLClient(platform, http)
        owner = await new_person(gql, "bench")
        org = await new_org(gql, owner)
        project = await new_project(gql, owner, org)
        report = await new_report(gql, owner, project, parameters={"count": 1})
        for index in range(runs + WARMUP):
            payload = await gql.mutate(
                "triggerRun", {"reportId": report["id"]}, "run { id }", token=owner.token
            )
            run_id = payload["run"]["id"]
            if direct is not None:
                await direct.start_workflow(
                    RUN_WORKFLOW,
                    RunInput(raw_id(run_id), raw_id(org)),
                    id=run_workflow_id(raw_id(run_id)),
                    task_queue=platform.settings.temporal_task_queue,
                )
            run = await wait_for_run(gql, owner, run_id, within_seconds=120)
            assert run["state"] == "SUCCEEDED", run
            if index >= WARMUP:
                samples.append(
                    Sample(
                        _seconds(run["queuedAt"], run["startedAt"]),
                        _seconds(run["queuedAt"], run["runningAt"]),
                    )
                )
    return samples


def _report(label: str, samples: list[Sample]) -> None:
    for name, values in (
        ("trigger→STARTING", [s.to_starting for s in samples]),
        ("trigger→RUNNING ", [s.to_running for s in samples]),
    ):
        ms = [v * 1000 for v in values]
        print(
            f"{label:<10} {name}  n={len(ms)}  p50={_percentile(ms, 50):7.1f} ms  "
            f"p95={_percentile(ms, 95):7.1f} ms  mean={statistics.mean(ms):7.1f} ms  "
            f"max={max(ms):7.1f} ms",
            flush=True,
        )


async def _platform(settings: Settings, *, events: bool) -> RunningPlatform:
    platform = EmbeddedPlatform(settings, with_events=events, with_worker=True)
    await platform.start()
    return RunningPlatform(settings, platform, LocalIssuer(settings), "sqlite")


async def main(runs: int) -> None:
    children: list[ChildServer] = []
    with tempfile.TemporaryDirectory(prefix="trawl-bench-runs-") as tmp:
        root = Path(tmp)
        aws_port, temporal_port = free_port(), free_port()
        servers = Settings(data_dir=root, aws_port=aws_port, temporal_port=temporal_port)
        children.append(await start_moto(servers))
        children.append(await start_temporal(servers))
        try:
            full = await _platform(
                _settings(root / "full", aws_port, temporal_port, queue="full"), events=True
            )
            full_samples = await _measure(full, runs, direct=None)
            await full.platform.stop()
            direct_settings = _settings(root / "direct", aws_port, temporal_port, queue="direct")
            direct = await _platform(direct_settings, events=False)
            client = await Client.connect(direct_settings.temporal_target)
            direct_samples = await _measure(direct, runs, direct=client)
            await direct.platform.stop()
        finally:
            for child in children:
                await child.stop()
    print(f"runs={runs} (one at a time, demo.echo count=1, SQLite, moto, Temporal dev server)")
    _report("event-path", full_samples)
    _report("baseline", direct_samples)
    extra = statistics.median([s.to_running for s in full_samples]) - statistics.median(
        [s.to_running for s in direct_samples]
    )
    print(
        f"event path adds {extra * 1000:.1f} ms at the median (relay + EventBridge + SQS + poller)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.runs))
    sys.stdout.flush()
    os._exit(0)  # temporalio can crash at interpreter exit (sdk-python#300)
