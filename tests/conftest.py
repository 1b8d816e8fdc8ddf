"""Session fixtures: one running platform per database backend, shared by feature tests;
each test isolates itself by creating its own users and organizations."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.servers import create_database, drop_database, require_mariadb_url
from tests.support.graphql import GraphQLClient
from tests.support.platform import RunningPlatform, platform_settings, start_platform

BACKENDS = ["sqlite", "mariadb"]


@pytest.fixture(scope="session", params=BACKENDS)
async def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningPlatform]:
    backend: str = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"platform-{backend}")
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'trawl.db'}"
        running = await start_platform(platform_settings(data_dir, url), backend)
        yield running
        await running.platform.stop()
        return
    base = require_mariadb_url()
    name = f"trawl_test_{uuid.uuid4().hex[:10]}"
    url = await create_database(base, name)
    running = await start_platform(platform_settings(data_dir, url), backend)
    yield running
    await running.platform.stop()
    await drop_database(base, name)


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture
def gql(platform: RunningPlatform, http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(platform, http)


from tests.support.moto import moto_server  # noqa: E402, F401  (fixture)
from tests.support.temporal import temporal_server  # noqa: E402, F401  (fixture)

_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


def pytest_unconfigure(config: pytest.Config) -> None:
    """temporalio can crash at interpreter exit (sdk-python#300), which could turn a green
    run red; once pytest has reported, leave with its own status and no finalizers."""
    if _exit_status:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])
