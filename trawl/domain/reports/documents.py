"""JSON documents given by users and staff: parsed, schema-checked, and validated against a
service code's schema, with every error pointing at the field that caused it."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from trawl.domain.errors import InvalidInput

MAX_DOCUMENT_BYTES = 256 * 1024


def parse_object(field: str, text: str, *, default: dict[str, Any] | None = None) -> dict[str, Any]:
    if not text.strip():
        if default is not None:
            return default
        raise InvalidInput(field, "a JSON object is required")
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(field, f"must be at most {MAX_DOCUMENT_BYTES // 1024} KiB of JSON")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            field, f"is not valid JSON: {error.msg} at position {error.pos}"
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput(field, f"must be a JSON object, not {type(value).__name__}")
    return value


def check_schema(field: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) that is itself valid."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidInput(
            field, f"is not a valid JSON Schema at {where}: {error.message}"
        ) from None
    return schema


def _error_field(base: str, error: ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    # A missing required property is reported on the object; point at the property instead.
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next((k for k in error.validator_value if k not in error.instance), None)
        if missing is not None:
            path.append(str(missing))
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = next((k for k in error.instance if k not in allowed), None)
        if extra is not None:
            path.append(str(extra))
    return ".".join([base, *path])


def validate_against(field: str, schema: dict[str, Any], document: dict[str, Any]) -> None:
    """The first (most relevant) violation, reported on `field.path.to.value`."""
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: (len(e.path), e.message))
    if errors:
        error = errors[0]
        raise InvalidInput(_error_field(field, error), error.message)
