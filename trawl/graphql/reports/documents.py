"""JSON documents at the edge: services carry them as JSON text, GraphQL as the JSON scalar.
Parsed from replies, serialized into requests; an input that must be an object and is not
is a user error naming the field, before any call."""

from __future__ import annotations

import json

from strawberry.scalars import JSON

from trawl.graphql.errors import user_input_error

_JSON_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (int, "a number"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
)


def document(text: str) -> JSON | None:
    """A document from a service reply; empty text is null."""
    if not text:
        return None
    return JSON(json.loads(text))


def object_document(text: str) -> JSON:
    """A document that is an object in the reply; empty text is `{}`."""
    return JSON(json.loads(text) if text else {})


def object_text(field: str, value: JSON | None) -> str:
    """An input that must be a JSON object, as JSON text for the service."""
    if not isinstance(value, dict):
        raise user_input_error(field, f"must be a JSON object, not {_kind(value)}")
    return json.dumps(value, separators=(",", ":"))


def optional_object_text(field: str, value: JSON | None) -> str:
    """As object_text, but an absent input is empty text (the service's default)."""
    return "" if value is None else object_text(field, value)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_KINDS if isinstance(value, kind)), "a value")
