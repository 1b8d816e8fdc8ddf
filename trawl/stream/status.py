"""`trawl stream status`: the job's state, its last checkpoint, shard lag and per-run lag.

Read from what the job leaves under `stream_dir` (status.json, lag/<shard>.json) and from the
runs table: a run's lag is the records its crawler emitted that the job has not yet taken in
(accepted, rejected or dropped as duplicates)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from trawl.config import Settings
from trawl.stream.driver import status_path

RECENT = timedelta(hours=1)


def job_status(settings: Settings) -> dict[str, Any]:
    path = status_path(settings)
    if not path.exists():
        return {"state": "NOT_STARTED", "detail": f"no {path}: the job has not run here"}
    status: dict[str, Any] = json.loads(path.read_text())
    pid = status.get("pid")
    if isinstance(pid, int) and status.get("state") not in ("STOPPED", "FAILED"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            status["state"] = "DEAD"
            status["detail"] = f"process {pid} is gone without stopping the job"
    return status


def shard_lag(settings: Settings) -> dict[str, int]:
    lag: dict[str, int] = {}
    for path in sorted((settings.stream_dir / "lag").glob("*.json")):
        try:
            item = json.loads(path.read_text())
        except ValueError:
            continue  # being replaced right now
        lag[str(item["shard"])] = int(item["millis_behind"])
    return lag


async def run_lag(settings: Settings) -> list[dict[str, Any]]:
    from trawl.domain.db import Database, unscope_session
    from trawl.domain.reports.models import Run

    db = Database.from_url(settings.database_url)
    try:
        since = datetime.now(UTC) - RECENT
        async with db.transaction() as session:
            unscope_session(session)
            rows = await session.execute(
                select(Run)
                .where(or_(Run.finished_at.is_(None), Run.finished_at >= since))
                .order_by(Run.created_at.desc())
                .limit(50)
            )
            runs = list(rows.scalars())
    finally:
        await db.dispose()
    return [
        {
            "run_id": run.id,
            "state": run.state,
            "emitted": run.records,
            "accepted": run.stream_accepted,
            "rejected": run.stream_rejected,
            "duplicates": run.stream_duplicates,
            "lag": max(
                0, run.records - run.stream_accepted - run.stream_rejected - run.stream_duplicates
            ),
            "dataset_ready": run.dataset_ready_at is not None,
        }
        for run in runs
    ]


def gather(settings: Settings) -> dict[str, Any]:
    report: dict[str, Any] = {
        "job": job_status(settings),
        "shards_millis_behind": shard_lag(settings),
    }
    try:
        report["runs"] = asyncio.run(run_lag(settings))
    except Exception as exc:  # the status of the job is still worth showing
        report["runs_error"] = f"runs not readable from {settings.database_url}: {exc}"
    return report


def render(report: dict[str, Any]) -> str:
    job = report["job"]
    lines = [f"job: {job.get('state')}" + (f" ({job['detail']})" if job.get("detail") else "")]
    for key in ("job_id", "source", "pid", "started_at", "restored_from", "updated_at"):
        if job.get(key):
            lines.append(f"  {key}: {job[key]}")
    checkpoint = job.get("last_checkpoint")
    lines.append(
        f"  last checkpoint: {checkpoint['path']} at {checkpoint['at']}"
        if checkpoint
        else "  last checkpoint: none yet"
    )
    shards = report["shards_millis_behind"]
    lines.append(
        "shards (ms behind latest): "
        + (", ".join(f"{s}={ms}" for s, ms in shards.items()) if shards else "no reads yet")
    )
    if "runs_error" in report:
        lines.append(report["runs_error"])
    runs = report.get("runs") or []
    lines.append(f"runs (active or ended in the last hour): {len(runs)}")
    for run in runs:
        lines.append(
            f"  {run['run_id']} {run['state']:<10} emitted={run['emitted']} "
            f"accepted={run['accepted']} rejected={run['rejected']} "
            f"duplicates={run['duplicates']} lag={run['lag']}"
            + (" dataset ready" if run["dataset_ready"] else "")
        )
    return "\n".join(lines)
