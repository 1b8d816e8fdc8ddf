"""Faults on the run path: the event bus unreachable while runs are triggered, the worker
SIGKILLed mid-run, the Temporal server restarted on its database file. Each time every run
still ends once, each run's workflow is started once and its crawler launched once.

This platform has its own Temporal server (restarted by a test), reaches moto through a TCP
proxy that can cut the link, and runs its worker as a separate `trawl worker` process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from tests.e2e.conftest import e2e_settings, start_full_platform
from tests.support.graphql import (
    GraphQLClient,
    Person,
    new_org,
    new_person,
    new_project,
    new_report,
    trigger_run,
)
from tests.support.moto import MotoServer
from tests.support.platform import RunningPlatform, free_port
from tests.support.runs import get_run, raw_id, wait_for_run
from tests.support.tcp_proxy import TcpProxy
from tests.support.temporal import TemporalDevServer, temporal_binary
from trawl.config import Settings
from trawl.crawlers.runners.base import CrawlerSpec
from trawl.crawlers.runners.subprocess_runner import SubprocessRunner
from trawl.domain.outbox import OutboxEvent
from trawl.workflows.inputs import run_workflow_id

pytestmark = pytest.mark.e2e


class WorkerProcess:
    """`trawl worker` as its own process, configured like the platform it serves."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        s = self.settings
        env = os.environ | {
            "TRAWL_DATA_DIR": str(s.data_dir),
            "TRAWL_ISSUER_PORT": str(s.issuer_port),
            "TRAWL_GRPC_PORT": str(s.grpc_port),
            "TRAWL_TEMPORAL_ADDRESS": s.temporal_target,
            "TRAWL_TEMPORAL_TASK_QUEUE": s.temporal_task_queue,
            "TRAWL_CRAWLER_HEARTBEAT_SECONDS": str(s.crawler_heartbeat_seconds),
            "TRAWL_CRAWLER_STOP_GRACE_SECONDS": str(s.crawler_stop_grace_seconds),
            "TRAWL_LOG_LEVEL": "WARNING",
            "TRAWL_AWS_ENDPOINT_URL": s.aws_endpoint_url,
            "TRAWL_KINESIS_STREAM": s.kinesis_stream,
            "TRAWL_RUN_LOGS_TABLE": s.run_logs_table,
            "TRAWL_CRAWLER_MAX_RETRIES": str(s.crawler_max_retries),
        }
        log = (s.data_dir / "worker.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trawl.cli", "worker"], env=env, stdout=log, stderr=log
        )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None


class FaultRig:
    def __init__(
        self,
        running: RunningPlatform,
        proxy: TcpProxy,
        temporal: TemporalDevServer,
        worker: WorkerProcess,
    ) -> None:
        self.running = running
        self.proxy = proxy
        self.temporal = temporal
        self.worker = worker


@pytest.fixture(scope="module")
def fault_temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    server = TemporalDevServer(
        temporal_binary(), free_port(), tmp_path_factory.mktemp("fault-temporal") / "temporal.db"
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def rig(
    moto_server: MotoServer,
    fault_temporal: TemporalDevServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[FaultRig]:
    proxy = TcpProxy("127.0.0.1", moto_server.port)
    await proxy.start()
    settings = e2e_settings(
        tmp_path_factory.mktemp("faults"), proxy.endpoint, fault_temporal.address
    )
    running = await start_full_platform(settings, with_worker=False)
    worker = WorkerProcess(settings)
    worker.start()
    yield FaultRig(running, proxy, fault_temporal, worker)
    worker.kill()
    await running.platform.stop()
    await proxy.cut()


@pytest.fixture
async def gql(rig: FaultRig) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield GraphQLClient(rig.running, http)


async def _owner_project(gql: GraphQLClient) -> tuple[Person, str]:
    owner = await new_person(gql, "fault")
    org = await new_org(gql, owner)
    return owner, await new_project(gql, owner, org)


def _spec(run_id: str, attempt: int = 1) -> CrawlerSpec:
    return CrawlerSpec(
        run_id=raw_id(run_id),
        attempt=attempt,
        organization_id="",
        project_id="",
        report_id="",
        service_code="demo.echo",
        entry_point="",
        image="",
        version="",
        parameters={},
        timeout_seconds=1,
    )


async def _assert_once(rig: FaultRig, run_ids: list[str]) -> None:
    client = await Client.connect(rig.temporal.address)
    runner = SubprocessRunner(rig.running.settings.runs_dir)
    for run_id in run_ids:
        workflow_id = run_workflow_id(raw_id(run_id))
        executions = [w async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
        assert len(executions) == 1, (workflow_id, executions)
        assert await runner.launch_count(_spec(run_id)) == 1


async def _unsent(rig: FaultRig) -> list[Any]:
    db = rig.running.platform.db
    assert db is not None
    async with db.transaction() as session:
        rows = await session.execute(
            select(OutboxEvent.attempts, OutboxEvent.last_error).where(
                OutboxEvent.sent_at.is_(None)
            )
        )
        return list(rows.all())


async def _outbox_drained(rig: FaultRig, within_seconds: float) -> list[Any]:
    deadline = time.monotonic() + within_seconds
    unsent = await _unsent(rig)
    while unsent and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        unsent = await _unsent(rig)
    return unsent


async def test_runs_triggered_while_the_bus_is_down_all_run_once_it_is_back(
    rig: FaultRig, gql: GraphQLClient
) -> None:
    owner, project = await _owner_project(gql)
    report = await new_report(gql, owner, project, parameters={"count": 3})
    await rig.proxy.cut()
    try:
        run_ids = [await trigger_run(gql, owner, report["id"]) for _ in range(5)]
        await asyncio.sleep(2.0)
        for run_id in run_ids:
            assert (await get_run(gql, owner, run_id))["state"] == "QUEUED"
        unsent = await _unsent(rig)
        assert len(unsent) >= 5
        assert any(attempts > 0 and error for attempts, error in unsent), unsent
    finally:
        await rig.proxy.restore()
    for run_id in run_ids:
        run = await wait_for_run(gql, owner, run_id, within_seconds=120)
        assert run["state"] == "SUCCEEDED", run
        assert run["stats"]["records"] == 3
    # The SUCCEEDED transition writes its RunStateChanged row in the same
    # transaction, so the relay ships it a moment after the run reads as done.
    assert await _outbox_drained(rig, within_seconds=30) == []
    await _assert_once(rig, run_ids)


async def test_a_run_survives_its_worker_being_killed(rig: FaultRig, gql: GraphQLClient) -> None:
    owner, project = await _owner_project(gql)
    report = await new_report(gql, owner, project, parameters={"count": 12, "delay_seconds": 0.5})
    run_id = await trigger_run(gql, owner, report["id"])
    await wait_for_run(gql, owner, run_id, {"RUNNING"}, within_seconds=60)
    await asyncio.sleep(1.0)
    rig.worker.kill()
    await asyncio.sleep(1.0)
    assert (await get_run(gql, owner, run_id))["state"] == "RUNNING"
    rig.worker.start()
    run = await wait_for_run(gql, owner, run_id, within_seconds=120)
    assert run["state"] == "SUCCEEDED", run
    assert [(a["attempt"], a["state"]) for a in run["attempts"]] == [(1, "SUCCEEDED")]
    assert run["stats"]["records"] == 12
    await _assert_once(rig, [run_id])


async def test_a_run_survives_a_temporal_server_restart(rig: FaultRig, gql: GraphQLClient) -> None:
    owner, project = await _owner_project(gql)
    report = await new_report(gql, owner, project, parameters={"count": 12, "delay_seconds": 0.5})
    run_id = await trigger_run(gql, owner, report["id"])
    await wait_for_run(gql, owner, run_id, {"RUNNING"}, within_seconds=60)
    started = time.monotonic()
    await asyncio.to_thread(rig.temporal.kill)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(rig.temporal.start)
    assert time.monotonic() - started < 30
    run = await wait_for_run(gql, owner, run_id, within_seconds=120)
    assert run["state"] == "SUCCEEDED", run
    assert [(a["attempt"], a["state"]) for a in run["attempts"]] == [(1, "SUCCEEDED")]
    assert run["stats"]["records"] == 12
    await _assert_once(rig, [run_id])
