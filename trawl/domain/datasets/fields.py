"""The fields a report's record schema declares: what a dataset filter or projection may
name. Nested objects give dotted paths (`dims.width`); each field keeps its key segments,
so a path is translated to the stored (escaped) keys segment by segment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Deeper nesting is not offered to filters (records are flat or shallow in practice).
MAX_DEPTH = 4
JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})


@dataclass(frozen=True, slots=True)
class DeclaredField:
    path: str
    segments: tuple[str, ...]
    # Declared JSON types; empty when the schema leaves the type open.
    types: frozenset[str]
    # For arrays: the declared types of the items (empty: open).
    item_types: frozenset[str] = frozenset()

    def allows(self, json_type: str) -> bool:
        return not self.types or json_type in self.types

    @property
    def scalar_types(self) -> frozenset[str]:
        return self.types - {"array", "object", "null"}


def _types(schema: Mapping[str, Any]) -> frozenset[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        declared = [declared]
    if not isinstance(declared, list):
        return frozenset()
    return frozenset(t for t in declared if t in JSON_TYPES)


def _item_types(schema: Mapping[str, Any]) -> frozenset[str]:
    items = schema.get("items")
    return _types(items) if isinstance(items, Mapping) else frozenset()


def declared_fields(schema: Mapping[str, Any]) -> dict[str, DeclaredField]:
    """Every property path of the schema, parents before children. A key containing a dot
    could read as a nested path: the first declaration of a path wins."""
    found: dict[str, DeclaredField] = {}
    _walk(schema, (), found)
    return found


def _walk(
    schema: Mapping[str, Any], prefix: tuple[str, ...], found: dict[str, DeclaredField]
) -> None:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or len(prefix) >= MAX_DEPTH:
        return
    for key, sub in properties.items():
        if not isinstance(sub, Mapping):
            sub = {}
        segments = (*prefix, str(key))
        path = ".".join(segments)
        if path not in found:
            found[path] = DeclaredField(path, segments, _types(sub), _item_types(sub))
        _walk(sub, segments, found)
