"""A child process in its own session (how the embedded platform runs the stream job, whose
Flink JVM and Python workers are its children) loses every process it started when it is
stopped, whether it leaves on SIGTERM or has to be killed after the grace period."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from trawl.devservers import ChildServer

# The leader starts a a grandchild that ignores SIGTERM, prints its pid, then waits.
LEADER = """
import signal, subprocess, sys, time
if sys.argv[1] == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen(
    [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"]
)
print(grandchild.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """Running, not a zombie nobody reaped yet."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def grandchild_pid(log: Path) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = log.read_text().strip() if log.exists() else ""
        if text:
            return int(text.splitlines()[0])
        time.sleep(0.05)
    raise AssertionError(f"no pid in {log}")


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("on_sigterm", ["exit", "ignore"])
async def test_stopping_a_session_child_kills_what_it_started(
    tmp_path: Path, on_sigterm: str
) -> None:
    child = ChildServer(
        "leader",
        [sys.executable, "-c", LEADER, on_sigterm],
        tmp_path / "leader.log",
        new_session=True,
        stop_grace_seconds=1.0,
    )
    child.start()
    assert child.process is not None
    leader = child.process.pid
    grandchild = grandchild_pid(tmp_path / "leader.log")
    assert alive(grandchild)
    started = time.monotonic()
    await child.stop()
    assert time.monotonic() - started < 5
    assert not alive(leader)
    assert gone_within(grandchild, 5.0)
