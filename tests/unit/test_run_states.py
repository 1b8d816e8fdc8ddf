"""The run lifecycle, checked for every (from, to) pair: the allowed table below is the
specification, written independently of the implementation's table."""

from __future__ import annotations

import itertools

import pytest

from trawl.domain.errors import PreconditionFailed
from trawl.domain.reports.run_states import (
    ACTIVE,
    TERMINAL,
    RunState,
    can_transition,
    check_transition,
)

Q, S, R, C = RunState.QUEUED, RunState.STARTING, RunState.RUNNING, RunState.CANCELLING
OK, FAIL, CANCELLED, TIMEOUT = (
    RunState.SUCCEEDED,
    RunState.FAILED,
    RunState.CANCELLED,
    RunState.TIMED_OUT,
)

ALLOWED = {
    (Q, S),  # a worker picks the run up
    (Q, CANCELLED),  # cancelled before any worker did
    (Q, FAIL),  # could not even be planned (e.g. its report vanished)
    (S, S),  # the launch failed and the next attempt starts
    (S, R),
    (S, FAIL),
    (S, TIMEOUT),
    (S, C),
    (R, S),  # the attempt failed; the next one starts
    (R, OK),
    (R, FAIL),
    (R, TIMEOUT),
    (R, C),
    (C, CANCELLED),
}

PAIRS = list(itertools.product(RunState, RunState))


@pytest.mark.parametrize(
    ("current", "target"), PAIRS, ids=[f"{a.name}->{b.name}" for a, b in PAIRS]
)
def test_every_transition_is_allowed_or_refused_as_specified(
    current: RunState, target: RunState
) -> None:
    expected = (current, target) in ALLOWED
    assert can_transition(current, target) is expected
    if expected:
        check_transition(current, target)
    else:
        with pytest.raises(PreconditionFailed) as refused:
            check_transition(current, target)
        assert current.name in refused.value.message and target.name in refused.value.message


def test_final_states_have_no_way_out() -> None:
    assert {OK, FAIL, CANCELLED, TIMEOUT} == TERMINAL
    for final in TERMINAL:
        assert not any(can_transition(final, target) for target in RunState)


def test_every_active_state_can_still_end() -> None:
    for state in ACTIVE:
        reachable = {t for t in RunState if can_transition(state, t)}
        assert reachable & (TERMINAL | {C}), state


def test_a_refused_transition_says_what_is_allowed() -> None:
    with pytest.raises(PreconditionFailed) as refused:
        check_transition(Q, R)
    assert "allowed: CANCELLED, FAILED, STARTING" in refused.value.message
    with pytest.raises(PreconditionFailed) as ended:
        check_transition(OK, S)
    assert "already ended (SUCCEEDED)" in ended.value.message
