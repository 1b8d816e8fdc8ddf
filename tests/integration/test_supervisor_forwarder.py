"""Real attempts through the SubprocessRunner with the forwarder beside the crawler (a tiny
test crawler writing the buffer directly): records are in Kinesis before the outcome says
succeeded, a killed crawler's records still arrive, a killed forwarder is restarted, and a
forwarder that cannot drain fails the attempt."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.attempts import wait_outcome
from tests.support.forwarding import (
    progress,
    read_stream,
    stream_settings,
    stream_spec,
    wait_until,
)
from tests.support.moto import MotoServer, free_port
from trawl.config import Settings
from trawl.crawlers.buffer import record_id
from trawl.crawlers.run_logs import RunLogStore
from trawl.crawlers.runners.attempt import ProcessRef, read_json
from trawl.crawlers.runners.base import CrawlerSpec
from trawl.crawlers.runners.subprocess_runner import SubprocessRunner

REPO = Path(__file__).resolve().parents[2]
CRAWLER = "tests.support.crawlers.buffer_echo"


@pytest.fixture
def settings(moto_server: MotoServer, tmp_path: Path) -> Settings:
    return stream_settings(moto_server.endpoint, tmp_path)


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[SubprocessRunner]:
    runner = SubprocessRunner(tmp_path / "runs")
    yield runner
    for attempt_dir in (tmp_path / "runs").glob("*/attempt-*"):
        spec = CrawlerSpec(**json.loads((attempt_dir / "spec.json").read_text()))
        await runner.stop(spec, grace_seconds=0)
        forwarder = ProcessRef.read(attempt_dir / "forwarder.pid")
        if forwarder is not None:
            forwarder.signal_group(signal.SIGKILL)


def make_spec(settings: Settings, parameters: dict[str, Any], **env: str) -> CrawlerSpec:
    return stream_spec(
        settings,
        parameters,
        entry_point=CRAWLER,
        service_code="test.buffer_echo",
        image="ghcr.io/trawl/test",
        env={"PYTHONPATH": str(REPO), **env},
    )


def emitted(runner: SubprocessRunner, spec: CrawlerSpec) -> int:
    """How many records the crawler has logged as emitted so far."""
    try:
        text = (runner.attempt_dir(spec) / "logs.jsonl").read_text()
    except FileNotFoundError:
        return 0
    return text.count('"message": "emitted ')


def ids(count: int) -> set[str]:
    return {record_id({"n": n}) for n in range(count)}


def exit_info(runner: SubprocessRunner, spec: CrawlerSpec) -> dict[str, Any]:
    info: dict[str, Any] = read_json(runner.attempt_dir(spec) / "exit.json")
    return info


async def test_records_are_in_the_stream_before_the_attempt_succeeds(
    runner: SubprocessRunner, settings: Settings
) -> None:
    spec = make_spec(settings, {"count": 240})
    await runner.launch(spec)
    outcome = await wait_outcome(runner, spec)

    stream = read_stream(settings)  # read at once: no waiting for stragglers
    assert outcome.succeeded, outcome.reason
    assert {r["record_id"] for r in stream} == ids(240) and len(stream) == 240
    forwarder = exit_info(runner, spec)["forwarder"]
    assert forwarder["drained"] and forwarder["records_shipped"] == 240
    assert forwarder["restarts"] == 0 and forwarder["chunks_left"] == 0

    logs = await runner.read_logs(spec)
    kinds = {(line["stream"], line["level"]) for line in logs}
    assert {("log", "DEBUG"), ("log", "INFO"), ("log", "WARNING")} <= kinds
    assert {("stdout", "INFO"), ("stderr", "ERROR"), ("forwarder", "INFO")} <= kinds
    shipped = await RunLogStore(settings).list(spec.run_id, first=1000)
    assert [(e.seq, e.message) for e in shipped.entries] == [
        (line["seq"], line["message"]) for line in logs
    ]


async def test_a_killed_crawler_still_delivers_what_it_emitted(
    runner: SubprocessRunner, settings: Settings
) -> None:
    spec = make_spec(settings, {"count": 5000, "delay_seconds": 0.001, "chunk_records": 40})
    await runner.launch(spec)
    await wait_until(lambda: emitted(runner, spec) >= 150, "150 records emitted")
    crawler = ProcessRef.read(runner.attempt_dir(spec) / "crawler.pid")
    assert crawler is not None
    crawler.signal_group(signal.SIGKILL)
    before_kill = emitted(runner, spec)

    outcome = await wait_outcome(runner, spec)

    assert not outcome.succeeded and outcome.reason == "stopped by SIGKILL"
    info = exit_info(runner, spec)
    assert info["buffer_closed_by_supervisor"] and info["forwarder"]["drained"]
    assert (runner.attempt_dir(spec) / "buffer" / "DONE").exists()
    got = {r["record_id"] for r in read_stream(settings)}
    # Every record whose line was whole: an unbroken prefix, at least what was logged.
    assert got == ids(len(got)) and len(got) >= before_kill
    assert len(got) < 5000


async def test_a_killed_forwarder_is_restarted_and_delivers_everything(
    runner: SubprocessRunner, settings: Settings
) -> None:
    spec = make_spec(settings, {"count": 600, "delay_seconds": 0.002, "chunk_records": 40})
    await runner.launch(spec)
    pid_file = runner.attempt_dir(spec) / "forwarder.pid"
    shipped = runner.attempt_dir(spec) / "forwarder.json"
    await wait_until(lambda: (read_json(shipped) or {}).get("records_shipped", 0) >= 40,
                     "the first chunk shipped")  # fmt: skip
    first = ProcessRef.read(pid_file)
    assert first is not None
    os.killpg(first.pid, signal.SIGKILL)

    outcome = await wait_outcome(runner, spec)

    assert outcome.succeeded, outcome.reason
    assert ProcessRef.read(pid_file) != first
    info = exit_info(runner, spec)["forwarder"]
    assert info["restarts"] >= 1 and info["drained"]
    assert {r["record_id"] for r in read_stream(settings)} == ids(600)
    logs = await runner.read_logs(spec)
    assert any("record forwarder was killed by SIGKILL" in line["message"] for line in logs)


async def test_an_undrained_forwarder_fails_the_attempt(
    runner: SubprocessRunner, settings: Settings
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # Kinesis (and DynamoDB) unreachable
    spec = make_spec(
        settings, {"count": 30}, TRAWL_AWS_ENDPOINT_URL=dead, TRAWL_FORWARDER_DRAIN_SECONDS="1"
    )
    await runner.launch(spec)
    outcome = await wait_outcome(runner, spec)

    assert not outcome.succeeded and outcome.exit_code == 0
    assert outcome.reason.startswith("records not delivered: the record forwarder could not ship")
    info = exit_info(runner, spec)["forwarder"]
    assert not info["drained"] and not info["records_drained"] and info["chunks_left"] == 1
    assert not ProcessRef.read(runner.attempt_dir(spec) / "forwarder.pid").alive()  # type: ignore[union-attr]


async def test_a_forwarder_whose_supervisor_died_ends_itself(
    runner: SubprocessRunner, settings: Settings
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # it would otherwise retry forever
    spec = make_spec(settings, {"count": 5, "hang": True}, TRAWL_AWS_ENDPOINT_URL=dead)
    await runner.launch(spec)
    attempt = runner.attempt_dir(spec)
    await wait_until(lambda: emitted(runner, spec) == 5, "5 records emitted")
    forwarder = ProcessRef.read(attempt / "forwarder.pid")
    supervisor = ProcessRef.read(attempt / "supervisor.pid")
    assert forwarder is not None and supervisor is not None and forwarder.alive()

    os.kill(supervisor.pid, signal.SIGKILL)

    await wait_until(lambda: not forwarder.alive(), "the orphaned forwarder to exit")
    outcome = await wait_outcome(runner, spec)  # and the runner ends the orphaned crawler
    assert not outcome.succeeded and "supervisor died" in outcome.reason


async def test_a_crawler_sees_none_of_the_workers_secrets(
    runner: SubprocessRunner, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's environment (inherited by the supervisor) holds platform secrets; the
    crawler gets a few OS variables and its run's contract, the forwarder its AWS settings."""
    monkeypatch.setenv("TRAWL_SYSTEM_CLIENT_SECRET", "do-not-leak")
    monkeypatch.setenv("TRAWL_DB_URL", "mysql+asyncmy://trawl:secret@db/trawl")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak-either")
    spec = make_spec(settings, {"count": 3, "log_env": True})
    await runner.launch(spec)
    outcome = await wait_outcome(runner, spec)
    assert outcome.succeeded, outcome.reason
    seen = next(
        line["message"]
        for line in await runner.read_logs(spec)
        if line["message"].startswith("env: ")
    ).split()[1:]
    assert "TRAWL_RUN_ID" in seen and "TRAWL_RUN_PARAMETERS" in seen and "PATH" in seen
    leaked = [
        name
        for name in seen
        if name in {"TRAWL_SYSTEM_CLIENT_SECRET", "TRAWL_DB_URL", "AWS_SECRET_ACCESS_KEY"}
        or name.startswith(("TRAWL_AWS_", "TRAWL_KINESIS_", "TRAWL_RUN_LOGS_"))
    ]
    assert leaked == []
    assert len(read_stream(settings)) == 3  # the forwarder still had what it needs


async def test_records_claiming_another_organization_get_their_runs_identity(
    runner: SubprocessRunner, settings: Settings
) -> None:
    spec = make_spec(settings, {"count": 5, "impersonate": "someone-elses-org"})
    await runner.launch(spec)
    outcome = await wait_outcome(runner, spec)
    assert outcome.succeeded, outcome.reason
    stream = read_stream(settings)
    assert {r["organization_id"] for r in stream} == {"org-1"}
    assert {r["record_id"] for r in stream} == ids(5)
    assert progress(runner.attempt_dir(spec))["identity_rewritten"] == 5
