"""Runs a crawler as the runner would — a real `python` subprocess given the TRAWL_* contract —
and reads back what it left: exit code, log lines, stats file, record buffer."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.crawl_buffer import buffer_closed, buffered_envelopes

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_SECONDS = 60.0


def crawler_env(run_dir: Path, parameters: dict[str, Any], **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "TRAWL_RUN_ID": "run-test",
        "TRAWL_RUN_ATTEMPT": "1",
        "TRAWL_ORGANIZATION_ID": "org-test",
        "TRAWL_PROJECT_ID": "project-test",
        "TRAWL_REPORT_ID": "report-test",
        "TRAWL_SERVICE_CODE": "test.code",
        "TRAWL_RUN_PARAMETERS": json.dumps(parameters),
        "TRAWL_RUN_DIR": str(run_dir),
        "TRAWL_RUN_OUTPUT": str(run_dir / "records.jsonl"),
        "TRAWL_RUN_STATS": str(run_dir / "stats.json"),
        **extra,
    }


@dataclass
class CrawlerRun:
    returncode: int
    stdout: list[str]
    stderr: list[str]
    run_dir: Path

    @property
    def logs(self) -> list[dict[str, str]]:
        """The SDK's structured log lines (one JSON object per stdout line)."""
        return [json.loads(line) for line in self.stdout if line.startswith("{")]

    def messages(self, level: str) -> list[str]:
        return [entry["message"] for entry in self.logs if entry["level"] == level]

    @property
    def reason(self) -> str:
        lines = [line for line in self.stderr if line.strip()]
        return lines[-1] if lines else ""

    @property
    def stats(self) -> dict[str, int]:
        data: dict[str, int] = json.loads((self.run_dir / "stats.json").read_text())
        return data

    @property
    def envelopes(self) -> list[dict[str, Any]]:
        return buffered_envelopes(self.run_dir)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [envelope["payload"] for envelope in self.envelopes]

    @property
    def buffer_closed(self) -> bool:
        return buffer_closed(self.run_dir)


async def run_crawler_process(
    argv: list[str],
    run_dir: Path,
    parameters: dict[str, Any],
    **extra_env: str,
) -> CrawlerRun:
    """`python <argv>` (e.g. ["-m", "trawl.crawlers.builtin.generic_html"]) to its end."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        env=crawler_env(run_dir, parameters, **extra_env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(RUN_TIMEOUT_SECONDS):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return CrawlerRun(
        proc.returncode, out.decode().splitlines(), err.decode().splitlines(), run_dir
    )
