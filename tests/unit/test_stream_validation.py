"""Record validation in the stream job: envelopes, payloads against the report's schema
(draft 2020-12), deterministic reasons, and the per-report schema cache."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import pytest

from trawl.stream.validation import Invalid, RecordValidator, Valid, envelope_problem

PRODUCT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "price": {"type": "number", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "price"],
}


def envelope(payload: object = None, **overrides: object) -> dict[str, Any]:
    base: dict[str, Any] = {
        "record_id": "r1",
        "organization_id": "org1",
        "project_id": "p1",
        "report_id": "rep1",
        "run_id": "run1",
        "attempt": 1,
        "sequence": 0,
        "emitted_at": "2025-03-01T12:00:00+00:00",
        "payload": {"name": "Lamp", "price": 9.5} if payload is None else payload,
    }
    base.update(overrides)
    return base


class Schemas:
    """A stand-in for the reports service: counts fetches, versions can change."""

    def __init__(self, schema: Mapping[str, Any] = PRODUCT) -> None:
        self.entries: dict[str, tuple[Hashable, Mapping[str, Any]]] = {"rep1": (1, schema)}
        self.fetches = 0
        self.fail = False

    def __call__(self, report_id: str) -> tuple[Hashable, Mapping[str, Any]] | None:
        self.fetches += 1
        if self.fail:
            raise ConnectionError("reports service down")
        return self.entries.get(report_id)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_matching_payload_is_valid() -> None:
    assert RecordValidator(Schemas()).validate(envelope()) == Valid()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"price": 1}, "$: 'name' is a required property"),
        ({"name": "Lamp", "price": "cheap"}, "$.price: 'cheap' is not of type 'number'"),
        ({"name": "Lamp", "price": -1}, "$.price: -1 is less than the minimum of 0"),
        ({"name": "L", "price": 1, "tags": ["a", 2]}, "$.tags[1]: 2 is not of type 'string'"),
    ],
)
def test_an_invalid_payload_names_path_and_message(payload: object, reason: str) -> None:
    assert RecordValidator(Schemas()).validate(envelope(payload)) == Invalid(reason)


def test_the_reason_is_the_first_error_in_path_order() -> None:
    payload = {"price": "x", "tags": [1]}  # three errors
    reasons = {RecordValidator(Schemas()).validate(envelope(payload)) for _ in range(5)}
    assert reasons == {Invalid("$: 'name' is a required property")}


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("not an object", "envelope is not a JSON object"),
        (envelope(record_id=None), "'record_id'"),
        (envelope(run_id=""), "'run_id'"),
        (envelope(report_id=7), "'report_id'"),
        (envelope(sequence=True), "'sequence'"),
        (envelope(emitted_at=None), "'emitted_at'"),
        (envelope(sequence=-1), "'sequence'"),
        (envelope(payload=[1, 2]), "'payload'"),
        ({k: v for k, v in envelope().items() if k != "payload"}, "'payload'"),
    ],
)
def test_a_malformed_envelope_is_invalid_not_an_exception(bad: object, words: str) -> None:
    result = RecordValidator(Schemas()).validate(bad)
    assert isinstance(result, Invalid)
    assert words in result.reason
    assert envelope_problem(bad) == result.reason


def test_an_unknown_report_is_invalid_and_remembered() -> None:
    schemas = Schemas()
    validator = RecordValidator(schemas)
    for _ in range(3):
        assert validator.validate(envelope(report_id="gone")) == Invalid("report 'gone' is unknown")
    assert schemas.fetches == 1


def test_a_broken_report_schema_makes_its_records_invalid() -> None:
    validator = RecordValidator(Schemas({"type": "no-such-type"}))
    result = validator.validate(envelope())
    assert isinstance(result, Invalid)
    assert result.reason.startswith("report schema is invalid:")


def test_the_schema_is_cached_until_the_ttl_passes() -> None:
    schemas, clock = Schemas(), Clock()
    validator = RecordValidator(schemas, ttl_seconds=30, clock=clock)
    validator.validate(envelope())
    clock.now += 29
    validator.validate(envelope())
    assert schemas.fetches == 1
    clock.now += 2
    validator.validate(envelope())
    assert schemas.fetches == 2


def test_a_changed_report_is_picked_up_after_the_ttl() -> None:
    schemas, clock = Schemas(), Clock()
    validator = RecordValidator(schemas, ttl_seconds=30, clock=clock)
    loose = envelope({"name": "Lamp", "price": 1, "colour": "red"})
    assert validator.validate(loose) == Valid()
    schemas.entries["rep1"] = (2, {**PRODUCT, "additionalProperties": False})
    assert validator.validate(loose) == Valid()  # still cached
    clock.now += 31
    result = validator.validate(loose)
    assert isinstance(result, Invalid)
    assert "'colour' was unexpected" in result.reason


def test_invalidate_forces_a_refetch() -> None:
    schemas = Schemas()
    validator = RecordValidator(schemas)
    validator.validate(envelope())
    validator.invalidate("rep1")
    validator.validate(envelope())
    assert schemas.fetches == 2


def test_a_failed_refresh_keeps_the_cached_schema() -> None:
    schemas, clock = Schemas(), Clock()
    validator = RecordValidator(schemas, ttl_seconds=30, clock=clock)
    validator.validate(envelope())
    schemas.fail = True
    clock.now += 31
    assert validator.validate(envelope()) == Valid()
    assert validator.validate(envelope()) == Valid()
    assert schemas.fetches == 2  # backs off for another TTL


def test_a_failed_first_fetch_propagates_so_the_job_retries() -> None:
    schemas = Schemas()
    schemas.fail = True
    with pytest.raises(ConnectionError):
        RecordValidator(schemas).validate(envelope())
