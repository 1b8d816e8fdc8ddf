"""The stream job's files source (hosts without Kinesis): a real `trawl stream run` process
with stream_source="files" takes in the sealed chunk files dropped in its inbox, each line an
envelope or an end-of-attempt marker, and lands them as the Kinesis source does: each valid
record once in MongoDB (FerretDB) and once in an Avro part in S3 (moto), invalid ones as dead
letters, with the run's stats exact. The platform runs without events or a worker: the runs
stay QUEUED, the chunk files stand in for their crawler."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import e2e_settings
from tests.e2e.test_stream_e2e import STRICT_SCHEMA
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
from tests.support.platform import RunningPlatform, start_platform
from tests.support.runs import raw_id
from tests.support.stream_rig import (
    StreamRig,
    log_tail,
    mongo_proxy,
    payloads_by_id,
    stream_overrides,
    stream_view,
)
from trawl.crawlers.buffer import (
    SEALED_SUFFIX,
    RunIdentity,
    canonical_json,
    chunk_name,
    envelope,
    record_id,
)
from trawl.crawlers.forwarder.records import end_marker
from trawl.stream.job import files_inbox

pytestmark = pytest.mark.e2e

VALID: list[dict[str, Any]] = [{"n": i, "text": f"record {i}"} for i in range(75)]
INVALID: list[dict[str, Any]] = [
    {"n": "seven", "text": "n is not an integer"},
    {"n": 7, "text": "x", "extra": 1},
]
REPEATS = [VALID[0], VALID[40], VALID[74]]


@pytest.fixture(scope="module")
async def files_platform(
    moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningPlatform, StreamRig]]:
    mongo_url = require_mongo_url()
    proxy = mongo_proxy(mongo_url)
    await proxy.start()
    data_dir = tmp_path_factory.mktemp("stream-files-e2e")
    # No Temporal here: without events or a worker nothing dials it.
    settings = e2e_settings(
        data_dir,
        moto_server.endpoint,
        "127.0.0.1:1",
        **(stream_overrides(proxy) | {"stream_source": "files"}),
    )
    running = await start_platform(settings, "sqlite")
    rig = StreamRig(settings, proxy, mongo_url)
    try:
        await rig.start_job()
        yield running, rig
    finally:
        await rig.stop_job()
        await running.platform.stop()
        await proxy.cut()


@pytest.fixture
async def gql(
    files_platform: tuple[RunningPlatform, StreamRig],
) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield GraphQLClient(files_platform[0], http)


@pytest.fixture
def rig(files_platform: tuple[RunningPlatform, StreamRig]) -> StreamRig:
    return files_platform[1]


async def _queued_run(gql: GraphQLClient) -> tuple[Person, str, RunIdentity]:
    """A strict-schema demo.echo report's run, QUEUED for good: (owner, run global id, the
    identity its records carry, with raw ids)."""
    owner = await new_person(gql, "files")
    org = await new_org(gql, owner)
    project = await new_project(gql, owner, org)
    report = await new_report(gql, owner, project, recordSchema=STRICT_SCHEMA)
    run = await trigger_run(gql, owner, report["id"])
    identity = RunIdentity(raw_id(org), raw_id(project), raw_id(report["id"]), raw_id(run), 1)
    return owner, run, identity


def _chunk_lines(identity: RunIdentity) -> list[str]:
    """80 records (sequences 1..80: valid, invalid and repeated mixed) and the end marker."""
    payloads = VALID[:30] + INVALID[:1] + REPEATS[:2] + VALID[30:] + INVALID[1:] + REPEATS[2:]
    lines = [
        canonical_json(envelope(identity, payload, sequence, record_id(payload)))
        for sequence, payload in enumerate(payloads, start=1)
    ]
    marker_identity: dict[str, object] = {
        "organization_id": identity.organization_id,
        "project_id": identity.project_id,
        "report_id": identity.report_id,
        "run_id": identity.run_id,
        "attempt": identity.attempt,
    }
    lines.append(canonical_json(end_marker(marker_identity, len(payloads))))
    return lines


def _drop_chunk(rig: StreamRig, identity: RunIdentity, lines: list[str], number: int) -> Path:
    """Into the run's own folder of the inbox, as a crawler's buffer lays chunks out (the
    source reads the inbox recursively; a path it has read once is never read again).
    Written outside the inbox, then renamed into it: the job never sees half a file."""
    folder = files_inbox(rig.settings) / identity.run_id / f"attempt-{identity.attempt}"
    folder.mkdir(parents=True, exist_ok=True)
    staging = rig.settings.data_dir / "staging"
    staging.mkdir(exist_ok=True)
    tmp = staging / f"{uuid.uuid4().hex}.tmp"
    tmp.write_text("".join(line + "\n" for line in lines))
    target = folder / chunk_name(number, SEALED_SUFFIX)
    tmp.rename(target)
    return target


async def _until_stats(
    gql: GraphQLClient, rig: StreamRig, owner: Person, run_id: str, wanted: dict[str, int]
) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = (await stream_view(gql, owner, run_id))["stats"]
        if {k: stats[k] for k in wanted} == wanted:
            return stats
        await asyncio.sleep(0.25)
    raise AssertionError(
        f"stats of {run_id} never reached {wanted}: {stats}\n{log_tail(rig.settings)}"
    )


def _assert_landed_once(rig: StreamRig, run_id: str) -> None:
    docs = rig.records(run_id)
    assert sorted(p["n"] for p in payloads_by_id(docs).values()) == list(range(75))
    assert len(docs) == 75
    assert {d["record_id"] for d in docs} == {record_id(p) for p in VALID}
    keys, rows = rig.avro_records(run_id)
    # 80 sequences in parts of 50: 1-50 when complete, 51-80 at the end marker.
    assert [k.rsplit("/", 1)[1] for k in keys] == ["part-001-00000.avro", "part-001-00001.avro"]
    ids = [row["record_id"] for row in rows]
    assert len(ids) == len(set(ids)) == 75
    assert set(ids) == {record_id(p) for p in VALID}
    letters = rig.dead_letters(run_id)
    assert len(letters) == 2
    reasons = " | ".join(sorted(d["reason"] for d in letters))
    assert "'seven' is not of type 'integer'" in reasons
    assert "('extra' was unexpected)" in reasons


async def test_a_chunk_file_in_the_inbox_lands_once_with_exact_stats(
    gql: GraphQLClient, rig: StreamRig
) -> None:
    owner, run_id, identity = await _queued_run(gql)
    _drop_chunk(rig, identity, _chunk_lines(identity), 1)

    stats = await _until_stats(
        gql, rig, owner, run_id, {"accepted": 75, "rejected": 2, "duplicates": 3}
    )
    assert stats["storedBytes"] > 0
    _assert_landed_once(rig, run_id)
    run = await stream_view(gql, owner, run_id)
    assert run["state"] == "QUEUED"
    assert run["datasetReadyAt"] is None  # the run never ended
    # Final totals stay put.
    await asyncio.sleep(2)
    assert (await stream_view(gql, owner, run_id))["stats"] == stats


async def test_the_same_chunk_dropped_again_adds_only_duplicates(
    gql: GraphQLClient, rig: StreamRig
) -> None:
    owner, run_id, identity = await _queued_run(gql)
    lines = _chunk_lines(identity)
    _drop_chunk(rig, identity, lines, 1)
    await _until_stats(gql, rig, owner, run_id, {"accepted": 75, "rejected": 2, "duplicates": 3})

    # A copy under another name: every record in it is a redelivery.
    _drop_chunk(rig, identity, lines, 2)
    await _until_stats(gql, rig, owner, run_id, {"accepted": 75, "rejected": 2, "duplicates": 83})
    _assert_landed_once(rig, run_id)


async def test_a_restarted_job_reads_only_the_chunks_it_has_not_read(
    gql: GraphQLClient, rig: StreamRig
) -> None:
    """Which files were read is in the savepoint: after a restart the read chunk is not taken
    in again, and a chunk dropped while the job was down is."""
    owner, run_id, identity = await _queued_run(gql)
    lines = _chunk_lines(identity)
    records, marker = lines[:-1], lines[-1]
    _drop_chunk(rig, identity, records[:50], 1)
    await _until_stats(gql, rig, owner, run_id, {"accepted": 47, "rejected": 1, "duplicates": 2})
    await rig.stop_job()
    try:
        _drop_chunk(rig, identity, [*records[50:], marker], 2)
    finally:
        await rig.start_job()
    assert "savepoint" in (rig.settings.stream_dir / "status.json").read_text()
    await _until_stats(gql, rig, owner, run_id, {"accepted": 75, "rejected": 2, "duplicates": 3})
    await asyncio.sleep(2)
    stats = (await stream_view(gql, owner, run_id))["stats"]
    assert (stats["accepted"], stats["rejected"], stats["duplicates"]) == (75, 2, 3)
    _assert_landed_once(rig, run_id)


def test_marker_lines_name_their_run() -> None:
    """The files source keys each line by the run_id it carries, end markers included."""
    identity = RunIdentity("org", "project", "report", "run", 2)
    *_records, marker = _chunk_lines(identity)
    assert json.loads(marker) == {
        "control": "attempt_end",
        "organization_id": "org",
        "project_id": "project",
        "report_id": "report",
        "run_id": "run",
        "attempt": 2,
        "records": 80,
    }
