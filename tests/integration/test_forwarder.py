"""The record forwarder as a real process against the real moto server: records written with
the crawler's BufferWriter reach Kinesis exactly, through throttling (tests.support.
kinesis_throttle, since moto never throttles), an outage, and a SIGKILL mid-run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.forwarding import (
    by_id,
    duplicates,
    end_markers,
    finish,
    forwarder_env,
    identity,
    payloads,
    progress,
    read_stream,
    start_forwarder,
    stream_settings,
    wait_until,
    write_records,
)
from tests.support.kinesis_throttle import KinesisThrottle
from tests.support.moto import MotoServer
from tests.support.tcp_proxy import TcpProxy
from trawl.config import Settings
from trawl.crawlers.buffer import envelope, record_id


@pytest.fixture
def attempt(tmp_path: Path) -> Path:
    directory = tmp_path / "attempt-1"
    directory.mkdir()
    return directory


@pytest.fixture
def settings(moto_server: MotoServer, tmp_path: Path) -> Settings:
    return stream_settings(moto_server.endpoint, tmp_path)


@pytest.fixture
def throttle(moto_server: MotoServer) -> Iterator[KinesisThrottle]:
    proxy = KinesisThrottle(moto_server.endpoint)
    proxy.start()
    yield proxy
    proxy.stop()


def chunk_files(attempt: Path) -> list[str]:
    return sorted(p.name for p in (attempt / "buffer").glob("chunk-*"))


async def test_records_reach_kinesis_exactly_and_chunks_go(
    settings: Settings, attempt: Path
) -> None:
    written = write_records(attempt / "buffer", identity("run-exact"), payloads(5000))
    assert len(chunk_files(attempt)) == 10

    started = time.monotonic()
    await finish(await start_forwarder(attempt, forwarder_env(settings, "run-exact")))
    elapsed = time.monotonic() - started

    stream = read_stream(settings)
    assert by_id(stream) == by_id(written)  # ids and whole envelopes, payloads included
    assert duplicates(stream) == 0
    assert chunk_files(attempt) == []
    shipped = progress(attempt)
    assert (shipped["records_shipped"], shipped["chunks_shipped"]) == (5000, 10)
    assert shipped["records_drained"] and shipped["retries"] == 0
    # The attempt's end marker tells the stream job how many records to expect.
    assert end_markers(settings) == [
        {
            "control": "attempt_end",
            "organization_id": "org-1",
            "project_id": "project-1",
            "report_id": "report-1",
            "run_id": "run-exact",
            "attempt": 1,
            "records": 5000,
        }
    ]
    print(f"forwarder: 5000 records in {elapsed:.2f} s ({5000 / elapsed:.0f} records/s)")


async def test_calls_stay_within_500_records_and_5_mib(
    settings: Settings, attempt: Path, throttle: KinesisThrottle
) -> None:
    throttle.records_per_second = throttle.bytes_per_second = 10**9
    small = write_records(attempt / "buffer", identity("run-batch"), payloads(1200), close=False)
    big = [{"n": n, "blob": "b" * 600_000} for n in range(20)]
    run = identity("run-batch")
    large = write_records(attempt / "buffer", run, big, chunk_records=100)

    env = forwarder_env(settings, "run-batch", endpoint=throttle.endpoint)
    await finish(await start_forwarder(attempt, env))

    assert {r["record_id"] for r in read_stream(settings)} == {
        r["record_id"] for r in small + large
    }
    assert all(call.violation is None for call in throttle.calls)
    assert max(call.records for call in throttle.calls) == 500
    assert max(call.bytes for call in throttle.calls) <= 5 * 1024 * 1024
    assert len([call for call in throttle.calls if call.bytes > 1024 * 1024]) >= 3


async def test_a_chunk_stays_until_every_record_is_acknowledged(
    settings: Settings, attempt: Path, throttle: KinesisThrottle
) -> None:
    throttle.budget = 250
    written = write_records(attempt / "buffer", identity("run-partial"), payloads(500))
    env = forwarder_env(settings, "run-partial", endpoint=throttle.endpoint)
    forwarder = await start_forwarder(attempt, env)

    await wait_until(lambda: progress(attempt).get("retries", 0) >= 250, "throttled retries")
    assert chunk_files(attempt) == ["chunk-00000001.jsonl"]
    assert progress(attempt)["chunk"]["settled"] == [[0, 250]]
    assert len(read_stream(settings)) == 250

    throttle.budget = None
    await finish(forwarder)

    stream = read_stream(settings)
    assert chunk_files(attempt) == []
    # Only the refused records went again: nothing acknowledged was sent twice.
    assert by_id(stream) == by_id(written) and duplicates(stream) == 0


async def test_oversize_record_is_rejected_counted_and_logged(
    settings: Settings, attempt: Path
) -> None:
    written = write_records(attempt / "buffer", identity("run-big"), payloads(3), close=False)
    huge_payload = {"blob": "z" * (1024 * 1024 + 10)}
    huge = envelope(identity("run-big"), huge_payload, 4, record_id(huge_payload))
    # The writer refuses such a record; the forwarder must hold the line on its own too.
    with (attempt / "buffer" / "chunk-00000001.jsonl").open("a") as chunk:
        chunk.write(json.dumps(huge) + "\n")
    (attempt / "buffer" / "DONE").write_text("")

    notices = await finish(await start_forwarder(attempt, forwarder_env(settings, "run-big")))

    assert by_id(read_stream(settings)) == by_id(written)
    assert progress(attempt)["rejected_oversize"] == 1
    [rejected] = [n for n in notices if n.get("event") == "record_rejected"]
    assert rejected["level"] == "ERROR" and rejected["record_id"] == huge["record_id"]
    assert "over the Kinesis limit" in rejected["message"]


async def test_a_torn_last_line_is_skipped(settings: Settings, attempt: Path) -> None:
    buffer = attempt / "buffer"
    written = write_records(buffer, identity("run-torn"), payloads(7), close=False)
    [open_chunk] = buffer.glob("*.open")
    with open_chunk.open("ab") as chunk:
        chunk.write(b'{"record_id":"half-writ')
    # What the supervisor does for a crawler that died: seal the chunk, write DONE.
    open_chunk.rename(open_chunk.with_suffix(".jsonl"))
    (buffer / "DONE").write_text("")

    notices = await finish(await start_forwarder(attempt, forwarder_env(settings, "run-torn")))

    assert by_id(read_stream(settings)) == by_id(written)
    assert progress(attempt)["skipped_torn"] == 1
    assert [n["event"] for n in notices if n["level"] == "WARNING"] == ["torn_lines_skipped"]


async def test_a_throttled_burst_arrives_whole(
    moto_server: MotoServer, tmp_path: Path, attempt: Path, throttle: KinesisThrottle
) -> None:
    settings = stream_settings(moto_server.endpoint, tmp_path, shards=1)
    throttle.records_per_second = 1500
    written = write_records(attempt / "buffer", identity("run-burst"), payloads(4000))

    env = forwarder_env(settings, "run-burst", endpoint=throttle.endpoint)
    await finish(await start_forwarder(attempt, env))

    stream = read_stream(settings)
    assert by_id(stream) == by_id(written) and duplicates(stream) == 0
    assert progress(attempt)["retries"] > 0 and throttle.throttled > 0
    print(f"throttled burst: {throttle.throttled} record refusals, all 4000 delivered")


async def test_killed_forwarder_restarts_and_loses_nothing(
    moto_server: MotoServer, tmp_path: Path, attempt: Path, throttle: KinesisThrottle
) -> None:
    settings = stream_settings(moto_server.endpoint, tmp_path, shards=1)
    throttle.records_per_second = 1500  # slow enough to kill it mid-run
    written = write_records(attempt / "buffer", identity("run-kill"), payloads(4000))
    env = forwarder_env(settings, "run-kill", endpoint=throttle.endpoint)

    first = await start_forwarder(attempt, env)
    await wait_until(lambda: progress(attempt).get("records_shipped", 0) >= 1500, "progress")
    os.kill(first.pid, signal.SIGKILL)
    await first.wait()
    assert 0 < len(chunk_files(attempt)) < 8
    await finish(await start_forwarder(attempt, env))

    stream = read_stream(settings)
    assert by_id(stream) == by_id(written)
    assert chunk_files(attempt) == [] and progress(attempt)["starts"] == 2
    # Counted once per distinct record, whatever the kill made it send twice.
    assert [m["records"] for m in end_markers(settings)] == [4000]
    print(f"SIGKILL mid-run: {duplicates(stream)} duplicate(s) of {len(written)} records")


async def test_kinesis_unreachable_for_a_while_loses_nothing(
    settings: Settings, moto_server: MotoServer, attempt: Path
) -> None:
    link = TcpProxy("127.0.0.1", moto_server.port)
    await link.start()
    await link.cut()
    written = write_records(attempt / "buffer", identity("run-outage"), payloads(1000))

    forwarder = await start_forwarder(
        attempt, forwarder_env(settings, "run-outage", endpoint=link.endpoint)
    )
    await wait_until(lambda: progress(attempt).get("call_failures", 0) >= 3, "failed calls")
    await asyncio.sleep(0.5)
    await link.restore()
    notices = await finish(forwarder)
    await link.cut()

    assert by_id(read_stream(settings)) == by_id(written)
    events = [n.get("event") for n in notices]
    assert events == ["kinesis_unavailable", "kinesis_recovered", "records_drained"]
