"""StreamServices, the stream job's synchronous client, against the running platform: the
system token from the issuer (cached, fetched again once when refused), both calls, and the
errors the job sees. The platform serves on this test's event loop, so every blocking call
runs in a thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.graphql import GraphQLClient, new_owner_with_project, new_report, trigger_run
from tests.support.platform import RunningPlatform, free_port
from tests.support.runs import raw_id
from tests.support.system_calls import system_caller
from trawl.stream.services import (
    RecordSchemaInfo,
    ServicesError,
    ServicesUnavailable,
    StreamServices,
)

SCHEMA = {"type": "object", "properties": {"sku": {"type": "string"}}}


class CountingTransport(httpx.BaseTransport):
    """Counts token requests; `first_token` replaces the issuer's first answer (a token the
    services will refuse, as after a key rotation)."""

    def __init__(self, first_token: str | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.first_token = first_token
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.first_token is not None and self.requests == 1:
            return httpx.Response(200, json={"access_token": self.first_token, "expires_in": 3600})
        return self.inner.handle_request(request)


@pytest.fixture
def transport() -> CountingTransport:
    return CountingTransport()


@pytest.fixture
def services(platform: RunningPlatform, transport: CountingTransport) -> Iterator[StreamServices]:
    client = StreamServices(platform.settings, http=httpx.Client(transport=transport))
    yield client
    client.close()


async def _report_and_run(gql: GraphQLClient) -> tuple[str, str, str, str]:
    """(raw org id, raw project id, raw report id, raw run id) of a fresh organization."""
    owner, org, project = await new_owner_with_project(gql)
    report = await new_report(gql, owner, project, recordSchema=SCHEMA, recordKeyFields=["sku"])
    run = await trigger_run(gql, owner, report["id"])
    return raw_id(org), raw_id(project), raw_id(report["id"]), raw_id(run)


async def test_record_schema_through_a_cached_system_token(
    gql: GraphQLClient, services: StreamServices, transport: CountingTransport
) -> None:
    org, project, report, _run = await _report_and_run(gql)
    info = await asyncio.to_thread(services.record_schema, report)
    assert isinstance(info, RecordSchemaInfo)
    assert (info.organization_id, info.project_id) == (org, project)
    assert info.schema == SCHEMA and info.key_fields == ("sku",)
    async with system_caller(gql.platform) as system:
        assert info.version == (await system.record_schema(report)).version
    assert await asyncio.to_thread(services.record_schema, report) == info
    assert transport.requests == 1


async def test_record_schema_of_a_missing_report_is_none(
    gql: GraphQLClient, services: StreamServices
) -> None:
    missing = "0190d6a4-0000-7000-8000-000000000000"
    assert await asyncio.to_thread(services.record_schema, missing) is None


async def test_stream_stats_are_stored_and_a_foreign_run_is_an_error(
    gql: GraphQLClient, services: StreamServices
) -> None:
    org, _project, _report, run = await _report_and_run(gql)
    other_org, _p, _r, _other_run = await _report_and_run(gql)
    await asyncio.to_thread(services.report_stream_stats, run, org, 4, 1, 2, 400, 0)
    async with system_caller(gql.platform) as system:
        reply = await system.stream_stats(run, org, accepted=4, rejected=1)
    assert (reply.stream.accepted, reply.stream.duplicates) == (4, 0)  # totals, replaced
    with pytest.raises(ServicesError) as caught:
        await asyncio.to_thread(services.report_stream_stats, run, other_org, 1, 0, 0, 1, 0)
    assert caught.value.code == "NOT_FOUND"
    assert not isinstance(caught.value, ServicesUnavailable)


async def test_a_refused_token_is_fetched_again_once(gql: GraphQLClient) -> None:
    platform = gql.platform
    settings = platform.settings
    expired = platform.issuer.mint(
        subject=settings.system_client_id,
        permissions=[settings.system_permission],
        machine=True,
        extra_claims={"exp": int(time.time()) - 3600},
    )
    transport = CountingTransport(first_token=expired)
    services = StreamServices(settings, http=httpx.Client(transport=transport))
    try:
        _org, _project, report, _run = await _report_and_run(gql)
        assert await asyncio.to_thread(services.record_schema, report) is not None
        assert await asyncio.to_thread(services.record_schema, report) is not None
    finally:
        services.close()
    assert transport.requests == 2


async def test_an_unreachable_service_raises_services_unavailable(
    platform: RunningPlatform,
) -> None:
    settings = platform.settings.model_copy(update={"reports_address": f"127.0.0.1:{free_port()}"})
    services = StreamServices(settings, deadline_seconds=2)
    try:
        started = time.monotonic()
        with pytest.raises(ServicesUnavailable) as caught:
            await asyncio.to_thread(services.report_stream_stats, "r", "o", 0, 0, 0, 0, 0)
        assert time.monotonic() - started < 5
    finally:
        services.close()
    assert caught.value.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
    assert settings.reports_target in str(caught.value)


async def test_an_unreachable_issuer_raises_services_unavailable(
    platform: RunningPlatform,
) -> None:
    settings = platform.settings.model_copy(update={"issuer_port": free_port()})
    services = StreamServices(settings, deadline_seconds=2)
    try:
        with pytest.raises(ServicesUnavailable, match="system token"):
            await asyncio.to_thread(services.record_schema, "0190d6a4-0000-7000-8000-0000000000")
    finally:
        services.close()
