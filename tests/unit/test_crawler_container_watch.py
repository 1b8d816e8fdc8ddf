"""The pod forwarder's watch over the crawler container, on a clock the test moves: it takes
over the buffer and the log only when the heartbeat has gone stale (or never came), once."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections import deque
from pathlib import Path

from trawl.crawlers.buffer_reader import mark_done
from trawl.crawlers.forwarder.liveness import CONTAINER_LOST, CrawlerContainerWatch
from trawl.crawlers.forwarder.pacing import Notices
from trawl.crawlers.runners.attempt import AttemptFiles
from trawl.crawlers.runners.log_capture import LogSink
from trawl.crawlers.runners.pod_entry import EXIT_BUFFER_CLOSED, run_pod_entry, termination_message


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def watch(
    run_dir: Path, clock: Clock, start_grace: float = 15.0
) -> tuple[CrawlerContainerWatch, io.StringIO]:
    out = io.StringIO()
    watcher = CrawlerContainerWatch(
        run_dir, 15.0, Notices(out), clock=clock, start_grace_seconds=start_grace
    )
    return watcher, out


def beat(run_dir: Path, at: float) -> None:
    heartbeat = run_dir / "crawler.heartbeat"
    heartbeat.touch()
    os.utime(heartbeat, (at, at))


def log_lines(run_dir: Path) -> list[str]:
    return (run_dir / "logs.jsonl").read_text().splitlines()


def test_a_fresh_heartbeat_means_alive(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    watcher, out = watch(tmp_path, clock)
    beat(tmp_path, 1000.0)
    clock.now = 1014.0
    assert not watcher.lost()
    beat(tmp_path, 1014.0)
    clock.now = 1028.0
    assert not watcher.lost()
    assert out.getvalue() == "" and not (tmp_path / "buffer" / "DONE").exists()


def test_a_stale_heartbeat_closes_buffer_and_log_once(tmp_path: Path) -> None:
    buffer = tmp_path / "buffer"
    buffer.mkdir()
    (buffer / "chunk-00000001.jsonl").write_text('{"n":1}\n')
    (buffer / "chunk-00000002.open").write_text('{"n":2}\n{"n":')
    sink = LogSink(tmp_path / "logs.jsonl")
    sink.write("stdout", "emitted 1", "INFO")
    sink.write("stdout", "emitted 2", "INFO")
    sink.close()
    with (tmp_path / "logs.jsonl").open("a") as torn:
        torn.write('{"seq": 3, "at": "')  # the entry died mid-write
    clock = Clock(1000.0)
    watcher, out = watch(tmp_path, clock)
    beat(tmp_path, 1000.0)

    clock.now = 1016.0
    assert watcher.lost() and watcher.lost()

    assert sorted(p.name for p in buffer.iterdir()) == [
        "DONE", "chunk-00000001.jsonl", "chunk-00000002.jsonl",
    ]  # fmt: skip
    [notice] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert notice["level"] == "WARNING" and notice["event"] == CONTAINER_LOST
    assert "without closing its record buffer" in notice["message"]
    lines = log_lines(tmp_path)
    assert lines[2] == '{"seq": 3, "at": "'  # ended, so it stays one unreadable line
    last = json.loads(lines[3])
    assert (last["seq"], last["stream"], last["level"]) == (3, "forwarder", "WARNING")
    assert last["message"] == notice["message"]
    assert (tmp_path / "logs.closed").exists()


def test_no_heartbeat_at_all_counts_from_the_forwarder_start(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    watcher, _ = watch(tmp_path, clock)
    clock.now = 1010.0
    assert not watcher.lost()
    clock.now = 1016.0
    assert watcher.lost()
    assert (tmp_path / "buffer" / "DONE").exists()
    assert [json.loads(line)["seq"] for line in log_lines(tmp_path)] == [1]


def test_before_the_first_heartbeat_the_start_grace_applies(tmp_path: Path) -> None:
    """A crawler container kubelet starts late (an image pull retried) is not taken for dead
    at the stale limit: only after the start grace, and then only with no heartbeat."""
    clock = Clock(1000.0)
    watcher, _ = watch(tmp_path, clock, start_grace=600.0)
    clock.now = 1100.0
    assert not watcher.lost()
    beat(tmp_path, 1100.0)
    clock.now = 1110.0
    assert not watcher.lost()
    clock.now = 1116.0
    assert watcher.lost()


def test_a_closed_buffer_with_an_unclosed_log_only_closes_the_log(tmp_path: Path) -> None:
    (tmp_path / "buffer").mkdir()
    (tmp_path / "buffer" / "DONE").write_text("")
    clock = Clock(1000.0)
    watcher, out = watch(tmp_path, clock)
    clock.now = 1100.0
    assert watcher.lost()
    assert "without closing its log" in json.loads(out.getvalue())["message"]
    assert (tmp_path / "logs.closed").exists()


def test_termination_message_ends_with_the_reason() -> None:
    tail = deque(["Traceback (most recent call last):", "  ...", "ValueError: bad page"])
    assert termination_message(tail, None).splitlines()[-1] == "ValueError: bad page"
    assert termination_message(tail, "SIGKILL").splitlines()[-1] == "stopped by SIGKILL"
    long = deque(["x" * 3000, "y" * 3000, "the reason"])
    message = termination_message(long, None)
    assert len(message.encode()) <= 4096 and message.endswith("\nthe reason")


def test_a_crawler_container_starting_after_a_take_over_refuses_to_run(tmp_path: Path) -> None:
    """The forwarder closed the buffer (start grace over); the late crawler container must
    not write records nobody will ship: it exits non-zero saying why, crawler not started."""
    mark_done(tmp_path / "buffer")
    termination = tmp_path / "termination-log"
    code = asyncio.run(
        run_pod_entry(
            AttemptFiles(tmp_path),
            "trawl.crawlers.builtin.demo_echo",
            {},
            stop_grace_seconds=1.0,
            termination_log=termination,
        )
    )
    assert code == EXIT_BUFFER_CLOSED
    assert "closed the attempt's buffer" in termination.read_text()
    assert not AttemptFiles(tmp_path).crawler_pid.exists()
