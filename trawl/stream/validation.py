"""Record validation for the stream job: is an enveloped record well formed, and does its
payload match its report's record schema (JSON Schema draft 2020-12)?

Schemas come from a `schema_for(report_id) -> (version, schema) | None` callable (the job
asks the reports service). Compiled validators are cached per report; an entry older than
the TTL is re-fetched and recompiled only when the version changed, so a changed report is
picked up within the TTL. Every problem with a record is an `Invalid(reason)` value, never
an exception: the job sends those to the dead-letter collection. Only a failure of
`schema_for` itself on a report never seen before propagates (the job retries it) — a
reports-service outage must not turn good records into dead letters.

Formats (`"format": "uri"`, ...) are annotations, as draft 2020-12 says by default.
One validator per Flink operator instance; it is not meant to be shared across threads."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

log = logging.getLogger(__name__)

SchemaSource = Callable[[str], "tuple[Hashable, Mapping[str, Any]] | None"]
DEFAULT_TTL_SECONDS = 60.0
MAX_REASON_CHARS = 500

# The envelope fields every stage relies on, and their types (bool is not an int here).
_STRING_FIELDS = (
    "record_id",
    "organization_id",
    "project_id",
    "report_id",
    "run_id",
    "emitted_at",
)
_INT_FIELDS = ("attempt", "sequence")


@dataclass(frozen=True, slots=True)
class Valid:
    """The record may go to the sinks."""


@dataclass(frozen=True, slots=True)
class Invalid:
    """The record goes to the dead-letter collection; `reason` says why."""

    reason: str


ValidationResult = Valid | Invalid
VALID = Valid()


@dataclass(slots=True)
class _CacheEntry:
    version: Hashable
    validator: Draft202012Validator | None  # None: unknown report or broken schema
    problem: str  # why every record of the report is invalid when there is no validator
    fetched_at: float


def envelope_problem(envelope: object) -> str | None:
    """Why `envelope` is not a well-formed record envelope, or None when it is."""
    if not isinstance(envelope, Mapping):
        return f"envelope is not a JSON object but {type(envelope).__name__}"
    for name in _STRING_FIELDS:
        value = envelope.get(name)
        if not isinstance(value, str) or not value:
            return f"envelope field {name!r} is missing or not a non-empty string"
    for name in _INT_FIELDS:
        value = envelope.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"envelope field {name!r} is missing or not a non-negative integer"
    if not isinstance(envelope.get("payload"), Mapping):
        return "envelope field 'payload' is missing or not a JSON object"
    return None


def _truncate(text: str) -> str:
    if len(text) <= MAX_REASON_CHARS:
        return text
    return text[: MAX_REASON_CHARS - 1] + "…"


def first_error(validator: Draft202012Validator, instance: object) -> str | None:
    """`<json path>: <message>` of the first error in (path, message) order, or None.

    Sorting makes the choice independent of the order jsonschema happens to report errors."""
    errors: list[ValidationError] = list(validator.iter_errors(instance))
    if not errors:
        return None
    error = min(errors, key=lambda e: (str(e.json_path), str(e.message)))
    return _truncate(f"{error.json_path}: {error.message}")


def compile_schema(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A draft 2020-12 validator; SchemaError when the schema itself is not valid."""
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


class RecordValidator:
    """Validates enveloped records against their report's record schema, cached per report."""

    def __init__(
        self,
        schema_for: SchemaSource,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._schema_for = schema_for
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, _CacheEntry] = {}

    def validate(self, envelope: object) -> ValidationResult:
        problem = envelope_problem(envelope)
        if problem is not None:
            return Invalid(problem)
        assert isinstance(envelope, Mapping)  # envelope_problem checked it
        entry = self._entry(envelope["report_id"])
        if entry.validator is None:
            return Invalid(entry.problem)
        error = first_error(entry.validator, envelope["payload"])
        return VALID if error is None else Invalid(error)

    def invalidate(self, report_id: str | None = None) -> None:
        """Forget one report's cached schema (all when None): the next record re-fetches."""
        if report_id is None:
            self._cache.clear()
        else:
            self._cache.pop(report_id, None)

    def _entry(self, report_id: str) -> _CacheEntry:
        now = self._clock()
        cached = self._cache.get(report_id)
        if cached is not None and now - cached.fetched_at < self._ttl:
            return cached
        try:
            fetched = self._schema_for(report_id)
        except Exception:
            if cached is None:
                raise
            # Keep serving the last known schema; try again after another TTL.
            log.warning("schema refresh failed report_id=%s; keeping cached", report_id)
            cached.fetched_at = now
            return cached
        if fetched is None:
            entry = _CacheEntry(None, None, f"report {report_id!r} is unknown", now)
            self._cache[report_id] = entry
            return entry
        version, schema = fetched
        if cached is not None and cached.validator is not None and cached.version == version:
            cached.fetched_at = now
            return cached
        entry = self._compile(version, schema, now)
        self._cache[report_id] = entry
        return entry

    @staticmethod
    def _compile(version: Hashable, schema: Mapping[str, Any], now: float) -> _CacheEntry:
        try:
            return _CacheEntry(version, compile_schema(schema), "", now)
        except SchemaError as exc:
            problem = _truncate(f"report schema is invalid: {exc.message}")
            return _CacheEntry(version, None, problem, now)
