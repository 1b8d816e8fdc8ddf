"""The full platform for end-to-end tests: services and gateway over SQLite, the event path
through a real moto server (EventBridge → SQS), a real Temporal dev server and an in-process
worker running crawlers as subprocesses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.graphql import GraphQLClient
from tests.support.moto import MotoServer, aws_settings
from tests.support.platform import RunningPlatform, free_port
from tests.support.temporal import TemporalDevServer
from trawl.config import Settings
from trawl.embedded import EmbeddedPlatform
from trawl.tenants.issuer import LocalIssuer


def e2e_settings(
    data_dir: Path, aws_endpoint: str, temporal_address: str, **extra: object
) -> Settings:
    return aws_settings(
        aws_endpoint,
        data_dir,
        db_url=f"sqlite+aiosqlite:///{data_dir / 'trawl.db'}",
        gateway_port=free_port(),
        issuer_port=free_port(),
        grpc_port=free_port(),
        temporal_address=temporal_address,
        temporal_task_queue=f"trawl-e2e-{uuid.uuid4().hex[:8]}",
        kinesis_stream=f"trawl-e2e-{uuid.uuid4().hex[:8]}",
        run_logs_table=f"trawl-e2e-logs-{uuid.uuid4().hex[:8]}",
        crawler_max_retries=2,
        progress_interval_seconds=0.5,
        reconcile_interval_seconds=1.0,
        reconcile_after_seconds=3,
        crawler_heartbeat_seconds=0.3,
        crawler_stop_grace_seconds=2.0,
        max_concurrent_runs=50,
        **extra,
    )


async def start_full_platform(settings: Settings, *, with_worker: bool = True) -> RunningPlatform:
    platform = EmbeddedPlatform(settings, with_events=True, with_worker=with_worker)
    await platform.start()
    return RunningPlatform(
        settings=settings, platform=platform, issuer=LocalIssuer(settings), backend="sqlite"
    )


@pytest.fixture(scope="session")
async def e2e_platform(
    moto_server: MotoServer,
    temporal_server: TemporalDevServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningPlatform]:
    data_dir = tmp_path_factory.mktemp("e2e")
    settings = e2e_settings(data_dir, moto_server.endpoint, temporal_server.address)
    running = await start_full_platform(settings)
    yield running
    await running.platform.stop()


@pytest.fixture
async def e2e(e2e_platform: RunningPlatform) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield GraphQLClient(e2e_platform, http)
