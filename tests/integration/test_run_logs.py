"""Run logs through the real forwarder process into the real moto DynamoDB, read back with
RunLogStore: in order across attempts, paged with exact cursors, filtered by level."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from tests.support.forwarding import finish, forwarder_env, progress, start_forwarder, wait_until
from tests.support.forwarding import stream_settings as make_settings
from tests.support.moto import MotoServer
from trawl.config import Settings
from trawl.crawlers.buffer_reader import mark_done
from trawl.crawlers.run_logs import RunLogEntry, RunLogStore
from trawl.crawlers.runners.attempt import utc_now
from trawl.crawlers.runners.log_capture import Level, LogSink
from trawl.domain.errors import InvalidInput
from trawl.events.key_cursor import encode_cursor

LEVEL_CYCLE: list[Level] = ["DEBUG", "INFO", "WARNING", "ERROR", "INFO"]
RUN = "run-logs-1"


@pytest.fixture
def settings(moto_server: MotoServer, tmp_path: Path) -> Settings:
    return make_settings(moto_server.endpoint, tmp_path, shards=1)


def capture(attempt_dir: Path, lines: int, *, close: bool = True) -> list[tuple[str, str]]:
    """Writes `lines` captured lines the way the supervisor does; returns (level, message)."""
    attempt_dir.mkdir(parents=True, exist_ok=True)
    mark_done(attempt_dir / "buffer")  # no records in these attempts
    sink = LogSink(attempt_dir / "logs.jsonl")
    written = []
    for n in range(lines):
        level = LEVEL_CYCLE[n % len(LEVEL_CYCLE)]
        message = f"{attempt_dir.name} line {n}"
        sink.write("log" if level != "ERROR" else "stderr", message, level)
        written.append((level, message))
    sink.close()
    if close:
        (attempt_dir / "logs.closed").write_text("")
    return written


async def ship(settings: Settings, attempt_dir: Path, attempt: int) -> None:
    await finish(await start_forwarder(attempt_dir, forwarder_env(settings, RUN, attempt)))


async def read_all(store: RunLogStore, first: int, level: str | None = None) -> list[RunLogEntry]:
    entries: list[RunLogEntry] = []
    after = None
    while True:
        page = await store.list(RUN, first, after, level)
        entries.extend(page.entries)
        if not page.has_next:
            return entries
        assert page.end_cursor is not None and len(page.entries) == first
        after = page.end_cursor


async def test_logs_are_in_order_across_attempts_and_page_exactly(
    settings: Settings, tmp_path: Path
) -> None:
    first_attempt = capture(tmp_path / "attempt-1", 31)
    second_attempt = capture(tmp_path / "attempt-2", 12)
    # The later attempt shipped first: order comes from the key, not from arrival.
    await ship(settings, tmp_path / "attempt-2", 2)
    await ship(settings, tmp_path / "attempt-1", 1)
    store = RunLogStore(settings)

    entries = await read_all(store, first=7)

    assert [(e.level, e.message) for e in entries] == first_attempt + second_attempt
    assert [(e.attempt, e.seq) for e in entries][30:33] == [(1, 31), (2, 1), (2, 2)]
    assert entries[0].stream == "log" and entries[3].stream == "stderr"
    assert entries[0].at.tzinfo is not None
    # A cursor resumes right after its line, whatever page it came from.
    resumed = await store.list(RUN, 3, entries[30].cursor)
    assert [(e.attempt, e.seq) for e in resumed.entries] == [(2, 1), (2, 2), (2, 3)]
    last = await store.list(RUN, 5, entries[-1].cursor)
    assert (last.entries, last.has_next, last.end_cursor) == ([], False, None)


async def test_level_filter_returns_that_level_and_above(
    settings: Settings, tmp_path: Path
) -> None:
    written = capture(tmp_path / "attempt-1", 40)
    await ship(settings, tmp_path / "attempt-1", 1)
    store = RunLogStore(settings, scan_limit=4)  # the filter drops most of each Query page

    warnings = await read_all(store, first=3, level="WARNING")
    errors = await read_all(store, first=100, level="error")

    assert [e.message for e in warnings] == [m for lv, m in written if lv in ("WARNING", "ERROR")]
    assert {e.level for e in errors} == {"ERROR"} and len(errors) == 8
    assert len(await read_all(store, first=100, level="DEBUG")) == 40


async def test_a_restarted_forwarder_goes_on_where_it_stopped(
    settings: Settings, tmp_path: Path
) -> None:
    attempt_dir = tmp_path / "attempt-1"
    capture(attempt_dir, 30, close=False)
    env = forwarder_env(settings, RUN, 1)
    forwarder = await start_forwarder(attempt_dir, env)
    await wait_until(lambda: progress(attempt_dir).get("log_lines_shipped") == 30, "30 lines")
    forwarder.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(forwarder.wait(), 10) == 143

    line = {"seq": 31, "at": utc_now(), "stream": "stdout", "level": "INFO",
            "message": "after the restart"}  # fmt: skip
    with (attempt_dir / "logs.jsonl").open("a") as logs:
        logs.write(json.dumps(line) + "\n")
    (attempt_dir / "logs.closed").write_text("")
    await finish(await start_forwarder(attempt_dir, env))

    assert progress(attempt_dir)["log_lines_shipped"] == 31  # nothing shipped twice
    entries = await read_all(RunLogStore(settings), first=50)
    assert [e.seq for e in entries] == list(range(1, 32))
    assert entries[-1].message == "after the restart"


@pytest.mark.parametrize(
    ("first", "after", "level", "field"),
    [
        (10, "not-a-cursor!", None, "after"),
        (10, encode_cursor("2026-01-01T00:00:00.000000Z#evt"), None, "after"),  # an audit one
        (10, encode_cursor("1#1"), None, "after"),
        (0, None, None, "first"),
        (10, None, "LOUD", "level"),
    ],
)
async def test_bad_arguments_are_invalid_input(
    settings: Settings, first: int, after: str | None, level: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        await RunLogStore(settings).list(RUN, first, after, level)
    assert error.value.field == field
