"""`trawl stream status`: the job's state from its status file (and whether its process is
alive), shard lag from the reader's lag files, per-run lag from a real migrated SQLite
database, the text rendering, and the CLI's JSON."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trawl.config import Settings
from trawl.domain.accounts.models import Organization
from trawl.domain.db import Database
from trawl.domain.ids import new_id
from trawl.domain.migrate import upgrade_to_head
from trawl.domain.projects.models import Project
from trawl.domain.reports.models import Report, Run
from trawl.domain.reports.seed import ensure_builtin_service_codes
from trawl.stream.driver import write_status
from trawl.stream.kinesis_source import write_shard_lag
from trawl.stream.status import gather, job_status, render, run_lag, shard_lag

ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, db_url=f"sqlite+aiosqlite:///{tmp_path / 'trawl.db'}")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _running_status(pid: int, **more: Any) -> dict[str, Any]:
    return {
        "state": "RUNNING",
        "pid": pid,
        "source": "kinesis",
        "job_id": "f00dfeed",
        "started_at": "2024-05-01T10:00:00+00:00",
        "last_checkpoint": {"path": "/x/checkpoints/f00dfeed/chk-12", "at": "2024-05-01T10:05:00"},
        **more,
    }


# -- the job --------------------------------------------------------------------------------


def test_no_status_file_means_the_job_never_ran_here(tmp_path: Path) -> None:
    status = job_status(_settings(tmp_path))
    assert status["state"] == "NOT_STARTED"
    assert str(tmp_path / "stream" / "status.json") in status["detail"]
    assert "has not run" in status["detail"]


def test_a_running_job_whose_process_is_gone_is_dead(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    pid = _dead_pid()
    write_status(settings, _running_status(pid))
    status = job_status(settings)
    assert status["state"] == "DEAD"
    assert str(pid) in status["detail"]


def test_a_running_job_whose_process_lives_stays_running(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    write_status(settings, _running_status(os.getpid()))
    status = job_status(settings)
    assert status["state"] == "RUNNING"
    assert "detail" not in status


@pytest.mark.parametrize("state", ["STOPPED", "FAILED"])
def test_a_job_that_ended_keeps_its_state_though_its_process_is_gone(
    tmp_path: Path, state: str
) -> None:
    settings = _settings(tmp_path)
    write_status(settings, _running_status(_dead_pid(), state=state))
    assert job_status(settings)["state"] == state


def test_shard_lag_is_read_from_the_lag_files(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert shard_lag(settings) == {}
    write_shard_lag(settings.stream_dir, {"shardId-000": 0, "shardId-001": 1500})
    (settings.stream_dir / "lag" / "shardId-002.json").write_text('{"shard": "shardId-0')
    assert shard_lag(settings) == {"shardId-000": 0, "shardId-001": 1500}


# -- runs -----------------------------------------------------------------------------------


async def _add_runs(url: str, now: datetime) -> dict[str, str]:
    db = Database.from_url(url)
    await ensure_builtin_service_codes(db)
    ids = {name: new_id() for name in ("active", "recent", "old")}
    org, project, report = new_id(), new_id(), new_id()
    async with db.transaction() as session:
        session.add(Organization(id=org, name="Org", slug=f"org-{org[:8]}"))
        await session.flush()
        session.add(Project(id=project, organization_id=org, name="Project"))
        await session.flush()
        session.add(
            Report(
                id=report,
                organization_id=org,
                project_id=project,
                name="Report",
                service_code="demo.echo",
                record_schema="{}",
                timeout_seconds=60,
            )
        )
        await session.flush()

        def run(name: str, minutes_ago: int, **fields: Any) -> Run:
            return Run(
                id=ids[name],
                organization_id=org,
                project_id=project,
                report_id=report,
                max_attempts=1,
                timeout_seconds=60,
                trigger_kind="manual",
                triggered_by="user",
                created_at=now - timedelta(minutes=minutes_ago),
                **fields,
            )

        session.add_all(
            [
                run(
                    "active",
                    1,
                    state="running",
                    records=10,
                    stream_accepted=6,
                    stream_rejected=1,
                    stream_duplicates=1,
                ),
                run(
                    "recent",
                    30,
                    state="succeeded",
                    finished_at=now - timedelta(minutes=20),
                    records=5,
                    stream_accepted=5,
                    dataset_ready_at=now - timedelta(minutes=19),
                ),
                run("old", 180, state="succeeded", finished_at=now - timedelta(hours=2)),
            ]
        )
    await db.dispose()
    return ids


@pytest.fixture
def with_runs(tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    settings = _settings(tmp_path)
    upgrade_to_head(settings.database_url)
    return settings, asyncio.run(_add_runs(settings.database_url, datetime.now(UTC)))


def test_run_lag_lists_active_and_recently_ended_runs_newest_first(
    with_runs: tuple[Settings, dict[str, str]],
) -> None:
    settings, ids = with_runs
    runs = asyncio.run(run_lag(settings))
    assert [r["run_id"] for r in runs] == [ids["active"], ids["recent"]]  # not the old one
    active, recent = runs
    assert active == {
        "run_id": ids["active"],
        "state": "running",
        "emitted": 10,
        "accepted": 6,
        "rejected": 1,
        "duplicates": 1,
        "lag": 2,
        "dataset_ready": False,
    }
    assert (recent["lag"], recent["dataset_ready"]) == (0, True)


def test_render_shows_the_job_its_checkpoint_its_shards_and_each_run(
    with_runs: tuple[Settings, dict[str, str]],
) -> None:
    settings, ids = with_runs
    write_status(settings, _running_status(os.getpid()))
    write_shard_lag(settings.stream_dir, {"shardId-000": 0, "shardId-001": 1500})
    text = render(gather(settings))
    assert text.splitlines()[0] == "job: RUNNING"
    assert "  job_id: f00dfeed" in text
    assert "last checkpoint: /x/checkpoints/f00dfeed/chk-12 at 2024-05-01T10:05:00" in text
    assert "shards (ms behind latest): shardId-000=0, shardId-001=1500" in text
    assert "runs (active or ended in the last hour): 2" in text
    active = next(line for line in text.splitlines() if ids["active"] in line)
    assert "emitted=10 accepted=6 rejected=1 duplicates=1 lag=2" in active
    assert "dataset ready" not in active
    recent = next(line for line in text.splitlines() if ids["recent"] in line)
    assert "lag=0" in recent and recent.endswith("dataset ready")
    assert ids["old"] not in text


def test_render_of_a_job_that_never_ran(tmp_path: Path) -> None:
    text = render(gather(_settings(tmp_path)))  # no database tables either
    assert text.splitlines()[0].startswith("job: NOT_STARTED (no ")
    assert "last checkpoint: none yet" in text
    assert "shards (ms behind latest): no reads yet" in text
    assert "runs not readable from" in text
    assert "runs (active or ended in the last hour): 0" in text


# -- the command ----------------------------------------------------------------------------


def test_the_status_command_prints_json(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
    env["TRAWL_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "trawl"), "stream", "status", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["job"]["state"] == "NOT_STARTED"
    assert report["shards_millis_behind"] == {}
