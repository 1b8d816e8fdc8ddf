"""RunReportWorkflow: one execution of a report, from STARTING to its final state.

    for each attempt:  STARTING → launch crawler → RUNNING → wait (heartbeats)
        succeeded → SUCCEEDED;  failed → next attempt after backoff, or FAILED
    the report's timeout (per attempt) → stop the crawler → TIMED_OUT
    the cancel signal (or the run found CANCELLING) → stop the crawler → CANCELLED

Deterministic: all I/O is in activities; time comes from workflow.now() and timers."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from trawl.crawlers.runners.base import CrawlerSpec
    from trawl.workflows.activities import (
        OutcomeView,
        RunActivities,
        RunPlanView,
        TransitionRequest,
        TransitionResult,
    )
    from trawl.workflows.inputs import CANCEL_SIGNAL, RUN_WORKFLOW, RunInput

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "GONE"})
# Service calls: retried until the services are back (they are idempotent).
SERVICE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)
SERVICE_TIMEOUT = timedelta(seconds=30)
# A dead worker is noticed after this long without a heartbeat from await_crawler.
HEARTBEAT_TIMEOUT = timedelta(seconds=8)
LAUNCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=12,
)
STOP_GRACE_MARGIN = timedelta(seconds=60)


@workflow.defn(name=RUN_WORKFLOW)
class RunReportWorkflow:
    def __init__(self) -> None:
        self.cancel_requested = False

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel(self) -> None:
        self.cancel_requested = True

    @workflow.run
    async def run(self, request: RunInput) -> str:
        plan: RunPlanView | None = await workflow.execute_activity_method(
            RunActivities.load_plan,
            request.run_id,
            start_to_close_timeout=SERVICE_TIMEOUT,
            retry_policy=SERVICE_RETRY,
        )
        if plan is None or plan.state in TERMINAL:
            return plan.state if plan else "GONE"
        if plan.state == "CANCELLING" or self.cancel_requested:
            running = plan.spec(plan.attempt) if plan.attempt > 0 else None
            return await self._cancelled(plan, running, plan.attempt)
        return await self._attempts(plan)

    async def _attempts(self, plan: RunPlanView) -> str:
        reason = "no attempt was left to run"
        exit_code: int | None = None
        last_stats: dict[str, int] = {}
        for attempt in range(plan.attempt + 1, plan.max_attempts + 1):
            moved = await self._move(plan, "STARTING", attempt, reason, exit_code=exit_code)
            if not moved.applied:
                return await self._refused(plan, moved, None)
            spec = plan.spec(attempt)
            outcome = await self._attempt(plan, spec)
            if isinstance(outcome, str):
                return outcome
            if outcome.succeeded:
                return await self._finish(
                    plan, "SUCCEEDED", attempt, stats=outcome.stats, exit_code=outcome.exit_code
                )
            reason, exit_code = outcome.reason or "the crawler failed", outcome.exit_code
            if attempt < plan.max_attempts and await self._backoff(plan, attempt):
                return await self._cancelled(plan, None, attempt)
            last_stats = outcome.stats
        return await self._finish(
            plan, "FAILED", plan.max_attempts, reason, stats=last_stats, exit_code=exit_code
        )

    async def _attempt(self, plan: RunPlanView, spec: CrawlerSpec) -> OutcomeView | str:
        """One attempt: the outcome, or the run's final state if it ended otherwise."""
        try:
            await workflow.execute_activity_method(
                RunActivities.launch,
                spec,
                start_to_close_timeout=timedelta(minutes=2),
                # A short outage of the runner's backend (the Kubernetes API) must not use
                # up one of the run's own attempts.
                retry_policy=LAUNCH_RETRY,
            )
        except ActivityError as error:
            return OutcomeView(
                False, None, f"the crawler could not be started: {error.cause or error}"
            )
        moved = await self._move(plan, "RUNNING", spec.attempt)
        if not moved.applied:
            return await self._refused(plan, moved, spec)
        return await self._wait(plan, spec)

    async def _wait(self, plan: RunPlanView, spec: CrawlerSpec) -> OutcomeView | str:
        timeout = timedelta(seconds=plan.timeout_seconds)
        handle = workflow.start_activity_method(
            RunActivities.await_outcome,
            spec,
            start_to_close_timeout=timeout + STOP_GRACE_MARGIN,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=5)
            ),
        )
        try:
            await workflow.wait_condition(
                lambda: handle.done() or self.cancel_requested, timeout=timeout
            )
        except TimeoutError:
            await self._abandon(handle)
            stats = await self._stop(spec)
            return await self._finish(
                plan,
                "TIMED_OUT",
                spec.attempt,
                f"the run exceeded its timeout of {plan.timeout_seconds} seconds",
                stats=stats,
            )
        if not handle.done():
            await self._abandon(handle)
            return await self._cancelled(plan, spec, spec.attempt)
        try:
            return await handle
        except ActivityError as error:
            return OutcomeView(False, None, f"lost track of the crawler: {error.cause or error}")

    @staticmethod
    async def _abandon(handle: workflow.ActivityHandle[OutcomeView]) -> None:
        handle.cancel()
        with contextlib.suppress(ActivityError, asyncio.CancelledError):
            await handle

    async def _backoff(self, plan: RunPlanView, attempt: int) -> bool:
        """Waits before the next attempt; True when a cancel arrived meanwhile."""
        delay = timedelta(seconds=plan.backoff_seconds * (2 ** (attempt - 1)))
        if delay.total_seconds() <= 0:
            return self.cancel_requested
        try:
            await workflow.wait_condition(lambda: self.cancel_requested, timeout=delay)
        except TimeoutError:
            return False
        return True

    async def _refused(
        self, plan: RunPlanView, moved: TransitionResult, spec: CrawlerSpec | None
    ) -> str:
        """A transition the service refused: the run was cancelled or ended meanwhile."""
        if moved.state == "CANCELLING":
            return await self._cancelled(plan, spec, moved.attempt)
        if spec is not None:
            await self._stop(spec)
        return moved.state

    async def _cancelled(self, plan: RunPlanView, spec: CrawlerSpec | None, attempt: int) -> str:
        stats = await self._stop(spec) if spec is not None else None
        moved = await self._move(plan, "CANCELLING", attempt)
        if moved.state == "CANCELLING":
            await self._move(plan, "CANCELLED", attempt, "cancelled on request", stats=stats)
            return "CANCELLED"
        return moved.state

    async def _finish(
        self,
        plan: RunPlanView,
        state: str,
        attempt: int,
        reason: str = "",
        *,
        stats: dict[str, int] | None = None,
        exit_code: int | None = None,
    ) -> str:
        """The final move. Refused because a cancel landed meanwhile (the run is CANCELLING
        and its signal may reach this workflow only after it closed): end it CANCELLED, so no
        run is left active with no workflow to move it."""
        moved = await self._move(plan, state, attempt, reason, stats=stats, exit_code=exit_code)
        if moved.applied:
            return state
        if moved.state == "CANCELLING":
            await self._move(plan, "CANCELLED", attempt, "cancelled on request", stats=stats)
            return "CANCELLED"
        return moved.state

    async def _stop(self, spec: CrawlerSpec) -> dict[str, int]:
        """Stops the crawler; returns its last counters."""
        return await workflow.execute_activity_method(
            RunActivities.stop,
            spec,
            start_to_close_timeout=STOP_GRACE_MARGIN,
            retry_policy=SERVICE_RETRY,
        )

    async def _move(
        self,
        plan: RunPlanView,
        state: str,
        attempt: int,
        reason: str = "",
        *,
        stats: dict[str, int] | None = None,
        exit_code: int | None = None,
    ) -> TransitionResult:
        return await workflow.execute_activity_method(
            RunActivities.transition,
            TransitionRequest(plan.run_id, state, attempt, reason, stats, exit_code),
            start_to_close_timeout=SERVICE_TIMEOUT,
            retry_policy=SERVICE_RETRY,
        )
