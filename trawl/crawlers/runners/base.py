"""The runner port: what the RunReportWorkflow's activities need from wherever crawlers run.

Every method is idempotent for one (run id, attempt): an activity retried after a worker
crash calls `launch` again and must get the already running crawler, not a second one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class CrawlerSpec:
    """Everything needed to start one attempt of one run, wherever it runs."""

    run_id: str
    attempt: int
    organization_id: str
    project_id: str
    report_id: str
    service_code: str
    # Python module run with `python -m` by the subprocess runner.
    entry_point: str
    # Container image and tag used by the Kubernetes runner.
    image: str
    version: str
    parameters: dict[str, Any]
    timeout_seconds: int
    cpu: str = "500m"
    memory: str = "512Mi"
    # Extra environment (stream settings and the like) passed to the crawler as is.
    env: dict[str, str] = field(default_factory=dict)

    @property
    def attempt_key(self) -> str:
        return f"{self.run_id}-{self.attempt}"


@dataclass(frozen=True, slots=True)
class CrawlerOutcome:
    """How an attempt ended. `reason` is for people: shown as the run's failure reason."""

    succeeded: bool
    exit_code: int | None
    reason: str = ""
    stats: dict[str, int] = field(default_factory=dict)


class CrawlerRunner(Protocol):
    async def launch(self, spec: CrawlerSpec) -> str:
        """Start the attempt unless it already runs or ran; returns a handle for logs."""
        ...

    async def outcome(self, spec: CrawlerSpec) -> CrawlerOutcome | None:
        """None while the attempt is still running (or starting)."""
        ...

    async def stop(self, spec: CrawlerSpec, grace_seconds: float) -> None:
        """Ask the attempt to stop, force it after the grace period; no-op if it ended."""
        ...

    async def progress(self, spec: CrawlerSpec) -> dict[str, int] | None:
        """The attempt's counters so far (pages, records, errors, bytes), if the runner can
        see them; None otherwise (the stream reports them instead)."""
        ...
