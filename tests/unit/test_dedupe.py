"""The de-duplication decisions of the stream job: key scheme, verdicts, state TTL."""

from __future__ import annotations

import pytest

from trawl.stream.dedupe import SEEN, Verdict, dedupe_key, state_ttl_seconds, verdict


def test_a_record_never_seen_goes_through_and_a_repeat_is_dropped() -> None:
    state: dict[str, object] = {}
    verdicts = []
    for run_id, record_id in [("run1", "a"), ("run1", "b"), ("run1", "a"), ("run2", "a")]:
        key = dedupe_key(run_id, record_id)
        verdicts.append(verdict(state.get(key)))
        state[key] = SEEN
    assert verdicts == [Verdict.FIRST, Verdict.FIRST, Verdict.DUPLICATE, Verdict.FIRST]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("run:1", "x"), ("run", "1:x")),
        (("ab", "c"), ("a", "bc")),
        (("run1", "a"), ("run2", "a")),
    ],
)
def test_distinct_run_and_record_pairs_never_share_a_key(
    one: tuple[str, str], other: tuple[str, str]
) -> None:
    assert dedupe_key(*one) != dedupe_key(*other)


def test_the_key_is_stable() -> None:
    assert dedupe_key("run1", "abc") == dedupe_key("run1", "abc") == "4:run1:abc"


@pytest.mark.parametrize(
    ("hours", "max_run", "expected"),
    [(24, 0, 86400), (24, 3600, 90000), (0.5, 0.2, 1801), (0, 0, 1)],
)
def test_state_ttl_covers_the_longest_run_plus_the_hours_after(
    hours: float, max_run: float, expected: int
) -> None:
    assert state_ttl_seconds(hours, max_run) == expected


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError):
        state_ttl_seconds(-1, 0)
