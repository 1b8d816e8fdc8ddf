"""The crawler pod's record path without a cluster: `build_job` builds the Job for a temporary
run dir, and its two containers run as local processes with exactly their commands and
environments (tests.support.pod), the `demo.echo` crawler in the service code's container and
the forwarder beside it, against the moto server. Whichever way the crawler ends (done,
failed, killed alone, killed with its whole container, stopped with the Job deleted), what it
emitted is in Kinesis exactly once and both containers end."""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.forwarding import (
    end_markers,
    progress,
    read_stream,
    stream_settings,
    stream_spec,
    wait_until,
)
from tests.support.kinesis_throttle import KinesisThrottle
from tests.support.moto import MotoServer
from tests.support.pod import Pod, env_of
from trawl.config import Settings
from trawl.crawlers.builtin.demo_echo import ENTRY_POINT
from trawl.crawlers.run_logs import RunLogStore
from trawl.crawlers.runners.attempt import ProcessRef
from trawl.crawlers.runners.base import CrawlerSpec
from trawl.crawlers.runners.kubernetes_runner import PodOptions, build_job

FORWARDER_ONLY = ("TRAWL_AWS_", "TRAWL_KINESIS_", "TRAWL_RUN_LOGS_", "TRAWL_FORWARDER_")


@pytest.fixture
def settings(moto_server: MotoServer, tmp_path: Path) -> Settings:
    return stream_settings(moto_server.endpoint, tmp_path)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    return path


@pytest.fixture
def throttle(moto_server: MotoServer) -> Iterator[KinesisThrottle]:
    proxy = KinesisThrottle(moto_server.endpoint)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
async def pods() -> AsyncIterator[list[Pod]]:
    started: list[Pod] = []
    yield started
    for pod in started:
        await pod.stop()


def make_spec(
    settings: Settings, parameters: dict[str, Any], endpoint: str | None = None
) -> CrawlerSpec:
    """What the worker launches: the run's settings (stream, run-logs table, AWS) in its env."""
    return stream_spec(
        settings,
        parameters,
        entry_point=ENTRY_POINT,
        service_code="demo.echo",
        image="ghcr.io/trawl/demo-echo",
        endpoint=endpoint,
        env={
            "TRAWL_AWS_SECRET_ACCESS_KEY": "the-forwarders-alone",
            "TRAWL_FORWARDER_HEARTBEAT_STALE_SECONDS": "3",
            "TRAWL_BUFFER_CHUNK_RECORDS": "40",
        },
    )


async def start_pod(
    pods: list[Pod], spec: CrawlerSpec, run_dir: Path, options: PodOptions | None = None
) -> Pod:
    job = build_job(spec, "trawl-crawlers", 3600, pod=options or PodOptions(), run_dir=str(run_dir))
    pod = Pod(job, run_dir.parent)
    pods.append(pod)
    await pod.start()
    return pod


def log_lines(run_dir: Path) -> list[dict[str, Any]]:
    try:
        text = (run_dir / "logs.jsonl").read_text()
    except FileNotFoundError:
        return []
    lines = []
    for raw in text.splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def emitted(run_dir: Path) -> int:
    """How many records the crawler said it emitted (it says so after each emit)."""
    return sum(line["message"].startswith("emitted record ") for line in log_lines(run_dir))


def environment_names(pid: int) -> set[str]:
    """The names in a live process's environment, as the kernel holds it."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return {entry.split("=", 1)[0] for entry in environ if entry}


def shipped_numbers(settings: Settings) -> list[int]:
    return sorted(record["payload"]["n"] for record in read_stream(settings))


def assert_an_unbroken_prefix(settings: Settings, at_least: int, below: int) -> int:
    """Every record whose line was whole, once: n = 0..k-1, and the end marker says k."""
    numbers = shipped_numbers(settings)
    assert numbers == list(range(len(numbers))), Counter(numbers).most_common(3)
    assert at_least <= len(numbers) < below
    assert [marker["records"] for marker in end_markers(settings)] == [len(numbers)]
    return len(numbers)


async def assert_run_logs_shipped(settings: Settings, spec: CrawlerSpec, run_dir: Path) -> None:
    store, entries, after = RunLogStore(settings), [], None
    while True:
        page = await store.list(spec.run_id, 1000, after)
        entries.extend(page.entries)
        if not page.has_next:
            break
        after = page.end_cursor
    assert [(e.seq, e.message) for e in entries] == [
        (line["seq"], line["message"]) for line in log_lines(run_dir)
    ]


async def test_a_finished_crawl_is_shipped_whole_with_its_log(
    settings: Settings, run_dir: Path, pods: list[Pod]
) -> None:
    spec = make_spec(settings, {"count": 100})
    pod = await start_pod(pods, spec, run_dir)

    assert await pod.crawler.exit_code() == 0, pod.crawler.log()
    assert await pod.forwarder.exit_code() == 0, pod.forwarder.log()

    assert shipped_numbers(settings) == list(range(100))
    assert [marker["records"] for marker in end_markers(settings)] == [100]
    lines = log_lines(run_dir)
    kinds = {(line["stream"], line["level"]) for line in lines}
    assert {("stdout", "INFO"), ("log", "INFO")} <= kinds
    assert emitted(run_dir) == 100
    assert (run_dir / "buffer" / "DONE").exists() and (run_dir / "logs.closed").exists()
    await assert_run_logs_shipped(settings, spec, run_dir)
    assert pod.termination_message() == ""


async def test_a_failed_crawl_leaves_its_last_words_as_termination_message(
    settings: Settings, run_dir: Path, pods: list[Pod]
) -> None:
    spec = make_spec(settings, {"count": 7, "fail": True, "fail_message": "the site said no"})
    pod = await start_pod(pods, spec, run_dir)

    assert await pod.crawler.exit_code() == 1
    assert await pod.forwarder.exit_code() == 0, pod.forwarder.log()

    assert shipped_numbers(settings) == list(range(7))
    assert pod.termination_message().splitlines()[-1] == "the site said no"
    errors = [line for line in log_lines(run_dir) if line["stream"] == "stderr"]
    assert errors and errors[-1]["message"] == "the site said no"
    assert errors[-1]["level"] == "ERROR"
    await assert_run_logs_shipped(settings, spec, run_dir)


async def test_a_killed_crawler_has_its_buffer_closed_by_the_entry(
    settings: Settings, run_dir: Path, pods: list[Pod]
) -> None:
    spec = make_spec(settings, {"count": 5000, "delay_seconds": 0.002})
    pod = await start_pod(pods, spec, run_dir)
    await wait_until(lambda: emitted(run_dir) >= 150, "150 records emitted")
    crawler = ProcessRef.read(run_dir / "crawler.pid")
    assert crawler is not None
    os.killpg(crawler.pid, signal.SIGKILL)  # an OOM kill of the crawler alone
    before_kill = emitted(run_dir)

    assert await pod.crawler.exit_code() == 137
    assert await pod.forwarder.exit_code() == 0, pod.forwarder.log()

    assert pod.termination_message().splitlines()[-1] == "stopped by SIGKILL"
    assert_an_unbroken_prefix(settings, at_least=before_kill, below=5000)
    await assert_run_logs_shipped(settings, spec, run_dir)


async def test_a_dead_crawler_container_has_its_buffer_closed_by_the_forwarder(
    settings: Settings, run_dir: Path, pods: list[Pod]
) -> None:
    spec = make_spec(settings, {"count": 5000, "delay_seconds": 0.002})
    pod = await start_pod(pods, spec, run_dir)
    await wait_until(lambda: emitted(run_dir) >= 150, "150 records emitted")

    pod.kill_crawler_container()  # the entry and the crawler: nobody left to close anything
    before_kill = emitted(run_dir)

    assert await pod.crawler.exit_code() == -signal.SIGKILL
    assert not (run_dir / "buffer" / "DONE").exists()
    assert await pod.forwarder.exit_code() == 0, pod.forwarder.log()

    assert (run_dir / "buffer" / "DONE").exists()
    assert_an_unbroken_prefix(settings, at_least=before_kill, below=5000)
    last = log_lines(run_dir)[-1]
    assert (last["stream"], last["level"]) == ("forwarder", "WARNING")
    assert "crawler container stopped without closing its record buffer" in last["message"]
    await assert_run_logs_shipped(settings, spec, run_dir)


async def test_deleting_the_job_stops_the_crawler_and_drains_the_buffer(
    moto_server: MotoServer,
    tmp_path: Path,
    run_dir: Path,
    throttle: KinesisThrottle,
    pods: list[Pod],
) -> None:
    settings = stream_settings(moto_server.endpoint, tmp_path, shards=1)
    throttle.records_per_second = 400  # slow enough that much is buffered at SIGTERM
    spec = make_spec(settings, {"count": 1500, "hang": True}, endpoint=throttle.endpoint)
    pod = await start_pod(pods, spec, run_dir)
    await wait_until(lambda: emitted(run_dir) == 1500, "1500 records emitted")
    await wait_until(lambda: progress(run_dir).get("records_shipped", 0) > 0, "shipping")
    crawler = ProcessRef.read(run_dir / "crawler.pid")
    assert crawler is not None
    seen = environment_names(crawler.pid)

    # Kubelet, on Job deletion: SIGTERM to every container at once.
    pod.crawler.signal(signal.SIGTERM)
    pod.forwarder.signal(signal.SIGTERM)
    shipped_at_sigterm = progress(run_dir).get("records_shipped", 0)

    assert await pod.crawler.exit_code() == 143
    assert await pod.forwarder.exit_code() == 0, pod.forwarder.log()

    assert shipped_at_sigterm < 1500
    assert shipped_numbers(settings) == list(range(1500))
    assert "SIGTERM: shipping what is buffered" in pod.forwarder.log()
    # The crawler saw its run's contract, never the forwarder's settings.
    assert {"TRAWL_RUN_ID", "TRAWL_RUN_PARAMETERS", "TRAWL_BUFFER_CHUNK_RECORDS"} <= seen
    assert [name for name in seen if name.startswith(FORWARDER_ONLY)] == []
    await assert_run_logs_shipped(settings, spec, run_dir)


async def test_a_crawler_ignoring_sigterm_is_killed_after_the_stop_grace(
    settings: Settings, run_dir: Path, pods: list[Pod]
) -> None:
    spec = make_spec(settings, {"count": 10, "hang": True, "ignore_sigterm": True})
    pod = await start_pod(pods, spec, run_dir, PodOptions(stop_grace_seconds=1))
    await wait_until(lambda: emitted(run_dir) == 10, "10 records emitted")

    pod.crawler.signal(signal.SIGTERM)
    pod.forwarder.signal(signal.SIGTERM)

    assert await pod.crawler.exit_code(within_seconds=10) == 137
    assert await pod.forwarder.exit_code() == 0, pod.forwarder.log()
    assert pod.termination_message().splitlines()[-1] == "stopped by SIGKILL"
    assert shipped_numbers(settings) == list(range(10))


def test_the_crawler_container_env_holds_no_forwarder_settings(
    settings: Settings, run_dir: Path
) -> None:
    spec = make_spec(settings, {"count": 1})
    pod = Pod(build_job(spec, "trawl-crawlers", 3600, run_dir=str(run_dir)), run_dir.parent)
    [crawler, forwarder] = pod.spec["containers"]

    crawler_env, forwarder_env = env_of(crawler), env_of(forwarder)

    assert [name for name in crawler_env if name.startswith(FORWARDER_ONLY)] == []
    assert "the-forwarders-alone" not in json.dumps(crawler)
    assert forwarder_env["TRAWL_AWS_SECRET_ACCESS_KEY"] == "the-forwarders-alone"
    assert forwarder_env["TRAWL_FORWARDER_MODE"] == "pod"
