"""The built-in service codes end to end through GraphQL: a report on the fixture shop runs
on the platform (worker → supervisor → crawler + forwarder), the run SUCCEEDS, Kinesis holds
exactly the expected products, the broken pages are errors with log lines readable through
`run.logs`, and the counters showed up while the run was going."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.forwarding import read_stream
from tests.support.graphql import (
    GraphQLClient,
    Person,
    new_org,
    new_person,
    new_project,
    new_report,
    trigger_run,
)
from tests.support.runs import get_run, raw_id, wait_for_run
from trawl.demo.catalog import (
    ERROR_IDS,
    MALFORMED_IDS,
    PRIVATE_IDS,
    WITHDRAWN_IDS,
    expected_products,
)
from trawl.demo.fixture_site import RunningSite, serve_fixture_site
from trawl.demo.report_fields import API_FIELDS, PRODUCT_FIELDS, catalog_parameters
from trawl.demo.seed import DEMO_EMAIL, seed_demo

pytestmark = pytest.mark.e2e

EXPECTED = {product["id"]: product for product in expected_products()}
BROKEN = len(WITHDRAWN_IDS) + len(ERROR_IDS) + len(MALFORMED_IDS)
LOGS = """query($id: ID!, $after: String, $level: LogLevel) { run(id: $id) {
  logs(first: 100, after: $after, level: $level) { nodes { attempt level stream message }
  pageInfo { hasNextPage endCursor } } } }"""


@pytest.fixture(scope="module")
def site() -> Iterator[RunningSite]:
    running = serve_fixture_site(0)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh_site(site: RunningSite) -> None:
    site.state.reset()


async def _crawl(
    gql: GraphQLClient, code: str, parameters: dict[str, Any], *, expect_progress: bool = False
) -> tuple[Person, str, dict[str, Any]]:
    """Runs a report to its end. With expect_progress (crawls that last seconds: they wait
    out a Retry-After and back off on a 500), the counters must move while RUNNING."""
    owner = await new_person(gql, "crawl")
    project = await new_project(gql, owner, await new_org(gql, owner))
    report = await new_report(
        gql, owner, project, serviceCode=code, parameters=parameters, recordKeyFields=["id"]
    )
    run_id = await trigger_run(gql, owner, report["id"])
    seen_progress = False
    while True:
        run = await get_run(gql, owner, run_id)
        seen_progress |= run["state"] == "RUNNING" and run["stats"]["records"] > 0
        if run["state"] in {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"}:
            break
        await asyncio.sleep(0.2)
    assert run["state"] == "SUCCEEDED", run
    assert seen_progress or not expect_progress, "the counters never moved while RUNNING"
    return owner, run_id, run


async def _all_logs(
    gql: GraphQLClient, owner: Person, run_id: str, level: str | None
) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    after = None
    while True:
        result = await gql.execute(
            LOGS, {"id": run_id, "after": after, "level": level}, token=owner.token
        )
        page = result.data["run"]["logs"]
        lines += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return lines
        after = page["pageInfo"]["endCursor"]


def _stream_payloads(gql: GraphQLClient, run_id: str) -> dict[int, dict[str, Any]]:
    records = [r for r in read_stream(gql.platform.settings) if r["run_id"] == raw_id(run_id)]
    unique = {r["record_id"]: r["payload"] for r in records}
    return {payload["id"]: payload for payload in unique.values()}


async def test_generic_html_report_crawls_the_whole_shop_into_kinesis(
    e2e: GraphQLClient, site: RunningSite
) -> None:
    owner, run_id, run = await _crawl(
        e2e,
        "generic.html",
        catalog_parameters(site.url),
        expect_progress=True,
    )
    assert run["stats"]["records"] == 990
    assert run["stats"]["errors"] == BROKEN
    assert run["stats"]["pages"] == 50 + 990 + 1
    assert _stream_payloads(e2e, run_id) == EXPECTED
    assert site.state.requested("/private/") == 0
    assert site.state.requests["/catalog?page=3"] == 2  # 429, then the retry

    problems = await _all_logs(e2e, owner, run_id, "WARNING")
    messages = "\n".join(line["message"] for line in problems)
    assert {line["level"] for line in problems} <= {"WARNING", "ERROR"}
    for product_id in sorted(WITHDRAWN_IDS | ERROR_IDS):
        assert f"/products/{product_id} failed" in messages
    for product_id in sorted(MALFORMED_IDS):
        assert f"/products/{product_id} not emitted: required price missing" in messages
    everything = await _all_logs(e2e, owner, run_id, None)
    skipped = [line for line in everything if "disallowed by robots.txt" in line["message"]]
    assert len(skipped) == len(PRIVATE_IDS)
    assert len(everything) > len(problems)


async def test_generic_sitemap_report_crawls_the_shop_from_its_sitemap_index(
    e2e: GraphQLClient, site: RunningSite
) -> None:
    _owner, run_id, run = await _crawl(
        e2e,
        "generic.sitemap",
        {
            "sitemap_urls": [f"{site.url}/sitemap.xml"],
            "url_filter": r"/products/\d+$",
            "fields": PRODUCT_FIELDS,
        },
    )
    assert run["stats"]["records"] == 990
    assert run["stats"]["errors"] == BROKEN
    assert _stream_payloads(e2e, run_id) == EXPECTED
    assert site.state.requested("/private/") == 0


async def test_generic_json_api_report_pages_through_the_api(
    e2e: GraphQLClient, site: RunningSite
) -> None:
    _owner, run_id, run = await _crawl(
        e2e,
        "generic.json_api",
        {
            "url": f"{site.url}/api/products/cursor",
            "items_path": "data.products",
            "pagination": {"mode": "cursor", "cursor_path": "meta.next_cursor"},
            "fields": API_FIELDS,
        },
    )
    assert run["stats"]["records"] == 990
    assert run["stats"]["errors"] == 0
    assert _stream_payloads(e2e, run_id) == EXPECTED


async def test_the_demo_seed_creates_a_report_whose_first_run_produces_data(
    e2e: GraphQLClient, site: RunningSite
) -> None:
    """What `trawl up` does for a newcomer, on this platform: the demo user gets an
    organization, a project and a generic.html report on the shop, and its first run."""
    seeded = await seed_demo(e2e.platform.settings, site.url)
    assert seeded is not None and seeded.run_id is not None
    demo = Person(email=DEMO_EMAIL, token=e2e.platform.token(DEMO_EMAIL))
    run = await wait_for_run(e2e, demo, seeded.run_id, within_seconds=120)
    assert run["state"] == "SUCCEEDED", run
    assert run["stats"]["records"] == 990
    assert await seed_demo(e2e.platform.settings, site.url) is None, "seeding twice"
