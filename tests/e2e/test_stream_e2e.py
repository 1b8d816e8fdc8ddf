"""The stream job end to end: runs on the full platform (worker → supervisor → crawler +
forwarder → Kinesis) are taken in by a real `trawl stream run` process (Flink MiniCluster),
which validates, de-duplicates and writes every record once to MongoDB (FerretDB here) and
once to an Avro part in S3 (moto), with the run's stats exact. Then the failures: the job
SIGKILLed mid-run and restored from its last checkpoint, stopped with a savepoint and
started again, and MongoDB unreachable for seconds mid-run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import e2e_settings, start_full_platform
from tests.servers import require_mongo_url
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
from tests.support.platform import RunningPlatform
from tests.support.runs import wait_for_run
from tests.support.stream_rig import (
    StreamRig,
    log_tail,
    mongo_proxy,
    payloads_by_id,
    stream_overrides,
    stream_view,
    wait_for_dataset,
)
from tests.support.temporal import TemporalDevServer
from trawl.demo.catalog import expected_products
from trawl.demo.fixture_site import RunningSite, serve_fixture_site
from trawl.demo.report_fields import catalog_parameters

pytestmark = pytest.mark.e2e

STRICT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"n": {"type": "integer"}, "text": {"type": "string"}},
    "required": ["n", "text"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
async def rig_platform(
    moto_server: MotoServer,
    temporal_server: TemporalDevServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[RunningPlatform, StreamRig]]:
    mongo_url = require_mongo_url()
    proxy = mongo_proxy(mongo_url)
    await proxy.start()
    data_dir = tmp_path_factory.mktemp("stream-e2e")
    settings = e2e_settings(
        data_dir, moto_server.endpoint, temporal_server.address, **stream_overrides(proxy)
    )
    running = await start_full_platform(settings)
    rig = StreamRig(settings, proxy, mongo_url)
    try:
        await rig.start_job()
        yield running, rig
    finally:
        await rig.stop_job()
        await running.platform.stop()
        await proxy.cut()


@pytest.fixture
async def gql(rig_platform: tuple[RunningPlatform, StreamRig]) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield GraphQLClient(rig_platform[0], http)


@pytest.fixture
async def rig(rig_platform: tuple[RunningPlatform, StreamRig]) -> AsyncIterator[StreamRig]:
    stream = rig_platform[1]
    if stream.job is None:  # a test before this one left the job stopped
        await stream.start_job()
    await stream.proxy.restore()
    yield stream


@pytest.fixture(scope="module")
def site() -> Iterator[RunningSite]:
    running = serve_fixture_site(0)
    yield running
    running.stop()


async def _owner_project(gql: GraphQLClient) -> tuple[Person, str]:
    owner = await new_person(gql, "stream")
    return owner, await new_project(gql, owner, await new_org(gql, owner))


def _assert_exactly_once(rig: StreamRig, run_id: str, expected: dict[str, dict[str, Any]]) -> None:
    """MongoDB holds exactly `expected` (record id → payload), each once; so do the Avro parts
    taken together."""
    docs = rig.records(run_id)
    assert len(docs) == len(expected)
    assert payloads_by_id(docs) == expected
    keys, rows = rig.avro_records(run_id)
    ids = [row["record_id"] for row in rows]
    assert len(ids) == len(set(ids)) == len(expected), (len(ids), len(set(ids)), keys)
    assert set(ids) == set(expected)


async def test_a_run_lands_once_in_mongodb_and_s3_with_exact_stats(
    gql: GraphQLClient, rig: StreamRig
) -> None:
    owner, project = await _owner_project(gql)
    valid = [{"n": i, "text": f"record {i}"} for i in range(120)]
    invalid = [{"n": f"n{i}", "text": "n is not an integer"} for i in range(3)]
    invalid.append({"n": 1000, "text": "undeclared field", "extra": True})
    repeats = [valid[i] for i in (0, 7, 50, 51, 99, 119)]
    emitted = valid[:60] + invalid[:2] + repeats[:3] + valid[60:] + invalid[2:] + repeats[3:]
    report = await new_report(
        gql, owner, project, parameters={"records": emitted}, recordSchema=STRICT_SCHEMA
    )
    run_id = await trigger_run(gql, owner, report["id"])
    assert (await wait_for_run(gql, owner, run_id))["state"] == "SUCCEEDED"
    run = await wait_for_dataset(gql, owner, run_id)

    assert run["stats"]["records"] == 130  # what the crawler emitted
    assert {k: run["stats"][k] for k in ("accepted", "rejected", "duplicates")} == {
        "accepted": 120,
        "rejected": 4,
        "duplicates": 6,
    }
    assert run["stats"]["errors"] == 4  # invalid records count as the run's errors
    assert run["stats"]["storedBytes"] > 0
    docs = rig.records(run_id)
    expected = {str(d["record_id"]): d["payload"] for d in docs}
    assert sorted(p["n"] for p in expected.values()) == list(range(120))
    _assert_exactly_once(rig, run_id, expected)
    keys, _ = rig.avro_records(run_id)
    # 130 sequences in parts of 50: 1-50, 51-100, 101-130.
    assert [k.rsplit("/", 1)[1] for k in keys] == [
        "part-001-00000.avro",
        "part-001-00001.avro",
        "part-001-00002.avro",
    ]
    letters = rig.dead_letters(run_id)
    assert len(letters) == 4
    reasons = " | ".join(sorted(d["reason"] for d in letters))
    assert "'n0' is not of type 'integer'" in reasons
    assert "Additional properties are not allowed ('extra' was unexpected)" in reasons
    assert all('"payload"' in d["raw"] for d in letters)  # the raw record is kept
    # Final totals stay put.
    await asyncio.sleep(2)
    assert (await stream_view(gql, owner, run_id))["stats"] == run["stats"]


async def test_records_of_another_tenant_never_reach_a_run(
    gql: GraphQLClient, rig: StreamRig
) -> None:
    """A report's run takes in only its own records: the stats of another organization's run
    stay untouched by this one, and its MongoDB records carry its own organization."""
    owner, project = await _owner_project(gql)
    other, other_project = await _owner_project(gql)
    mine = await new_report(gql, owner, project, parameters={"count": 20})
    theirs = await new_report(gql, other, other_project, parameters={"count": 5})
    my_run = await trigger_run(gql, owner, mine["id"])
    their_run = await trigger_run(gql, other, theirs["id"])
    mine_done = await wait_for_dataset(gql, owner, my_run)
    theirs_done = await wait_for_dataset(gql, other, their_run)
    assert mine_done["stats"]["accepted"] == 20
    assert theirs_done["stats"]["accepted"] == 5
    orgs = {d["organization_id"] for d in rig.records(my_run)}
    assert len(orgs) == 1 and orgs != {d["organization_id"] for d in rig.records(their_run)}


async def test_generic_html_run_on_the_shop_lands_whole(
    gql: GraphQLClient, rig: StreamRig, site: RunningSite
) -> None:
    site.state.reset()
    owner, project = await _owner_project(gql)
    report = await new_report(
        gql,
        owner,
        project,
        serviceCode="generic.html",
        recordKeyFields=["id"],
        parameters=catalog_parameters(site.url),
    )
    run_id = await trigger_run(gql, owner, report["id"])
    assert (await wait_for_run(gql, owner, run_id, within_seconds=240))["state"] == "SUCCEEDED"
    run = await wait_for_dataset(gql, owner, run_id)
    assert run["stats"]["accepted"] == 990
    assert run["stats"]["rejected"] == 0 and run["stats"]["duplicates"] == 0
    docs = rig.records(run_id)
    by_product = {d["payload"]["id"]: d["payload"] for d in docs}
    assert by_product == {p["id"]: p for p in expected_products()}
    _assert_exactly_once(rig, run_id, {str(d["record_id"]): d["payload"] for d in docs})


async def _slow_run(gql: GraphQLClient, count: int, delay: float) -> tuple[Person, str]:
    owner, project = await _owner_project(gql)
    report = await new_report(
        gql, owner, project, parameters={"count": count, "delay_seconds": delay}
    )
    return owner, await trigger_run(gql, owner, report["id"])


async def _until_accepted(
    gql: GraphQLClient, owner: Person, run_id: str, at_least: int, within: float = 120
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (await stream_view(gql, owner, run_id))["stats"]["accepted"] >= at_least:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the job never took in {at_least} records of {run_id}")


def _generated(count: int) -> set[int]:
    return set(range(count))


async def _assert_run_exact(
    gql: GraphQLClient, rig: StreamRig, owner: Person, run_id: str, count: int
) -> None:
    assert (await wait_for_run(gql, owner, run_id, within_seconds=180))["state"] == "SUCCEEDED"
    run = await wait_for_dataset(gql, owner, run_id, within_seconds=240)
    assert run["stats"]["accepted"] == count, log_tail(rig.settings)
    assert run["stats"]["rejected"] == 0
    docs = rig.records(run_id)
    assert sorted(d["payload"]["n"] for d in docs) == sorted(_generated(count))
    _assert_exactly_once(rig, run_id, {str(d["record_id"]): d["payload"] for d in docs})


async def test_a_job_killed_mid_run_restores_from_its_checkpoint(
    gql: GraphQLClient, rig: StreamRig
) -> None:
    owner, run_id = await _slow_run(gql, 900, 0.01)
    await _until_accepted(gql, owner, run_id, 150)
    await asyncio.sleep(1.5)  # a checkpoint or two after some records, then more records
    await rig.kill_job()
    checkpoints = list((rig.settings.stream_dir / "checkpoints").glob("*/chk-*/_metadata"))
    assert checkpoints, "no complete checkpoint was retained"
    await rig.start_job()
    status = (rig.settings.stream_dir / "status.json").read_text()
    assert "chk-" in status  # restored from a retained checkpoint
    await _assert_run_exact(gql, rig, owner, run_id, 900)


async def test_a_job_stopped_with_a_savepoint_resumes_there(
    gql: GraphQLClient, rig: StreamRig
) -> None:
    owner, run_id = await _slow_run(gql, 600, 0.01)
    await _until_accepted(gql, owner, run_id, 100)
    await rig.stop_job()
    assert list((rig.settings.stream_dir / "savepoints").glob("*/_metadata"))
    await rig.start_job()
    assert "savepoint" in (rig.settings.stream_dir / "status.json").read_text()
    await _assert_run_exact(gql, rig, owner, run_id, 600)


async def test_mongodb_unreachable_for_seconds_mid_run_loses_and_repeats_nothing(
    gql: GraphQLClient, rig: StreamRig
) -> None:
    owner, run_id = await _slow_run(gql, 800, 0.01)
    await _until_accepted(gql, owner, run_id, 100)
    await rig.proxy.cut()
    await asyncio.sleep(6)
    await rig.proxy.restore()
    await _assert_run_exact(gql, rig, owner, run_id, 800)
