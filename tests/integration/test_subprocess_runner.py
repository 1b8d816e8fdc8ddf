"""The local runner with real processes: demo.echo under its supervisor, launched, watched,
stopped and re-attached to from a second runner as a replacement worker would."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.attempts import wait_outcome
from tests.support.crawl_buffer import buffered_records
from trawl.crawlers.builtin import demo_echo
from trawl.crawlers.runners.base import CrawlerSpec
from trawl.crawlers.runners.subprocess_runner import SubprocessRunner

OUTCOME_TIMEOUT = 15.0


def make_spec(parameters: dict[str, Any], attempt: int = 1, run_id: str = "") -> CrawlerSpec:
    return CrawlerSpec(
        run_id=run_id or f"run-{uuid.uuid4().hex[:12]}",
        attempt=attempt,
        organization_id="org-1",
        project_id="project-1",
        report_id="report-1",
        service_code=demo_echo.SERVICE_CODE,
        entry_point=demo_echo.ENTRY_POINT,
        image="ghcr.io/trawl/demo-echo",
        version="1",
        parameters=parameters,
        timeout_seconds=60,
    )


async def wait_for_records(runner: SubprocessRunner, spec: CrawlerSpec, count: int) -> None:
    """Until the crawler has logged `count` records, so we know it is mid-run."""
    deadline = time.monotonic() + OUTCOME_TIMEOUT
    while time.monotonic() < deadline:
        logs = await runner.read_logs(spec)
        if sum(line["message"].startswith("emitted record") for line in logs) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{spec.run_id} did not emit {count} records")


def records_of(runner: SubprocessRunner, spec: CrawlerSpec) -> list[dict[str, Any]]:
    """The payloads demo.echo appended to the attempt's record buffer."""
    return buffered_records(runner.attempt_dir(spec))


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[SubprocessRunner]:
    runner = SubprocessRunner(tmp_path / "runs")
    yield runner
    # No crawler outlives its test, whatever the test did.
    for attempt_dir in (tmp_path / "runs").glob("*/attempt-*"):
        spec = CrawlerSpec(**json.loads((attempt_dir / "spec.json").read_text()))
        await runner.stop(spec, grace_seconds=0)


async def test_echo_writes_records_and_stats(runner: SubprocessRunner) -> None:
    records = [{"title": "a"}, {"title": "b", "price": 2}]
    spec = make_spec({"records": records})

    handle = await runner.launch(spec)
    outcome = await wait_outcome(runner, spec)

    assert handle == str(runner.attempt_dir(spec))
    assert outcome.succeeded and outcome.exit_code == 0 and outcome.reason == ""
    assert records_of(runner, spec) == records
    assert outcome.stats["records"] == 2
    assert outcome.stats["errors"] == 0
    assert outcome.stats["bytes"] == sum(
        len(json.dumps(r, separators=(",", ":"))) + 1 for r in records
    )


async def test_echo_generates_count_records(runner: SubprocessRunner) -> None:
    spec = make_spec({"count": 3})
    await runner.launch(spec)
    outcome = await wait_outcome(runner, spec)

    assert outcome.succeeded
    assert records_of(runner, spec) == [{"n": i, "text": f"record {i}"} for i in range(3)]


async def test_failure_reports_last_stderr_line_and_exit_code(runner: SubprocessRunner) -> None:
    spec = make_spec({"count": 1, "fail": True, "fail_message": "site said no", "exit_code": 3})
    await runner.launch(spec)
    outcome = await wait_outcome(runner, spec)

    assert not outcome.succeeded
    assert outcome.exit_code == 3
    assert outcome.reason == "site said no"
    assert outcome.stats == {"pages": 0, "records": 1, "errors": 1, "bytes": 26}


async def test_invalid_parameters_fail_with_the_schema_error(runner: SubprocessRunner) -> None:
    spec = make_spec({"count": -1})
    await runner.launch(spec)
    outcome = await wait_outcome(runner, spec)

    assert not outcome.succeeded and outcome.exit_code == 2
    assert outcome.reason.startswith("invalid parameters: count:")


async def test_fail_attempts_fails_first_attempt_only(runner: SubprocessRunner) -> None:
    parameters = {"count": 1, "fail": True, "fail_attempts": 1}
    first = make_spec(parameters, attempt=1)
    second = dataclasses.replace(first, attempt=2)

    await runner.launch(first)
    assert (await wait_outcome(runner, first)).reason == "demo.echo was told to fail"
    await runner.launch(second)
    assert (await wait_outcome(runner, second)).succeeded


async def test_stop_ends_a_hanging_crawler_with_sigterm(runner: SubprocessRunner) -> None:
    spec = make_spec({"count": 2, "hang": True})
    await runner.launch(spec)
    await wait_for_records(runner, spec, 2)
    assert await runner.outcome(spec) is None

    started = time.monotonic()
    await runner.stop(spec, grace_seconds=5)
    outcome = await wait_outcome(runner, spec)

    assert time.monotonic() - started < 2
    assert not outcome.succeeded
    assert outcome.exit_code == 143
    assert outcome.reason == "stopped by SIGTERM"
    assert outcome.stats["records"] == 2
    await runner.stop(spec, grace_seconds=5)  # idempotent: a no-op once ended


async def test_stop_kills_a_crawler_that_ignores_sigterm(runner: SubprocessRunner) -> None:
    spec = make_spec({"count": 1, "hang": True, "ignore_sigterm": True})
    await runner.launch(spec)
    await wait_for_records(runner, spec, 1)

    started = time.monotonic()
    await runner.stop(spec, grace_seconds=0.5)
    outcome = await wait_outcome(runner, spec)

    assert 0.5 <= time.monotonic() - started < 3
    assert outcome.exit_code == 128 + signal.SIGKILL
    assert outcome.reason == "stopped by SIGKILL"


async def test_stop_before_launch_is_a_no_op(runner: SubprocessRunner) -> None:
    spec = make_spec({})
    await runner.stop(spec, grace_seconds=1)
    outcome = await runner.outcome(spec)
    assert outcome is not None and outcome.reason == "the attempt was never launched"


async def test_repeated_and_concurrent_launches_start_one_crawler(
    runner: SubprocessRunner, tmp_path: Path
) -> None:
    spec = make_spec({"count": 1, "delay_seconds": 0.1})
    other_worker = SubprocessRunner(tmp_path / "runs")

    handles = await asyncio.gather(
        *(runner.launch(spec) for _ in range(5)), *(other_worker.launch(spec) for _ in range(5))
    )
    await wait_outcome(runner, spec)
    await runner.launch(spec)

    assert len(set(handles)) == 1
    assert await runner.launch_count(spec) == 1
    assert len(records_of(runner, spec)) == 1


LAUNCH_THEN_BLOCK = """
import asyncio, json, sys
from trawl.crawlers.runners.base import CrawlerSpec
from trawl.crawlers.runners.subprocess_runner import SubprocessRunner
spec = CrawlerSpec(**json.loads(sys.argv[2]))
asyncio.run(SubprocessRunner(__import__("pathlib").Path(sys.argv[1])).launch(spec))
print("launched", flush=True)
sys.stdin.read()
"""


async def test_new_worker_reattaches_after_the_first_is_killed(
    runner: SubprocessRunner, tmp_path: Path
) -> None:
    spec = make_spec({"count": 4, "delay_seconds": 0.25})
    spec_json = json.dumps(dataclasses.asdict(spec))
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LAUNCH_THEN_BLOCK,
        str(runner.runs_dir),
        spec_json,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        assert await worker.stdout.readline() == b"launched\n"
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        await worker.wait()

    assert await runner.outcome(spec) is None  # the crawler outlived its worker
    await runner.launch(spec)  # the retried activity launches again: no second crawler
    outcome = await wait_outcome(runner, spec)

    assert outcome.succeeded and outcome.stats["records"] == 4
    assert await runner.launch_count(spec) == 1


async def test_captured_logs_are_ordered_across_streams(runner: SubprocessRunner) -> None:
    spec = make_spec({"count": 3, "fail": True, "fail_message": "last words"})
    await runner.launch(spec)
    await wait_outcome(runner, spec)

    logs = await runner.read_logs(spec)
    seqs = [line["seq"] for line in logs]
    assert seqs == list(range(1, len(logs) + 1))
    streams = [line["stream"] for line in logs]
    # 3 plain "emitted record" lines, and the SDK's summary as a structured log line.
    assert streams.count("stdout") == 3 and streams.count("log") == 1
    assert logs[-1] == {**logs[-1], "stream": "stderr", "level": "ERROR", "message": "last words"}
    assert logs[0]["level"] == "INFO" and logs[0]["at"].endswith("+00:00")
    assert [line["seq"] for line in await runner.read_logs(spec, after_seq=3)] == seqs[3:]
