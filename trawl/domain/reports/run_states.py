"""The run lifecycle, written once. Every state change of a run goes through `check_transition`.

    QUEUED → STARTING → RUNNING → SUCCEEDED | FAILED | CANCELLED | TIMED_OUT   (+ CANCELLING)

A failed attempt with attempts left goes back to STARTING with the next attempt number (the
only self-loop, STARTING → STARTING, is a launch that failed before RUNNING and is retried).
A queued run that no workflow has picked up yet is cancelled at once; a started one goes
through CANCELLING until its crawler is stopped."""

from __future__ import annotations

from enum import StrEnum

from trawl.domain.errors import PreconditionFailed


class RunState(StrEnum):
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.TIMED_OUT})
ACTIVE = frozenset(RunState) - TERMINAL

TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.QUEUED: frozenset({RunState.STARTING, RunState.CANCELLED, RunState.FAILED}),
    RunState.STARTING: frozenset(
        {
            RunState.STARTING,
            RunState.RUNNING,
            RunState.FAILED,
            RunState.TIMED_OUT,
            RunState.CANCELLING,
        }
    ),
    RunState.RUNNING: frozenset(
        {
            RunState.STARTING,
            RunState.SUCCEEDED,
            RunState.FAILED,
            RunState.TIMED_OUT,
            RunState.CANCELLING,
        }
    ),
    RunState.CANCELLING: frozenset({RunState.CANCELLED}),
    RunState.SUCCEEDED: frozenset(),
    RunState.FAILED: frozenset(),
    RunState.CANCELLED: frozenset(),
    RunState.TIMED_OUT: frozenset(),
}


def can_transition(current: RunState, target: RunState) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: RunState, target: RunState) -> None:
    if can_transition(current, target):
        return
    if current in TERMINAL:
        raise PreconditionFailed(
            f"the run already ended ({current.name}); it cannot become {target.name}"
        )
    allowed = ", ".join(sorted(s.name for s in TRANSITIONS[current]))
    raise PreconditionFailed(
        f"a {current.name} run cannot become {target.name} (allowed: {allowed})"
    )
