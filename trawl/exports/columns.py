"""The shape of an exported record, read from the report's record schema (JSON Schema).

An exported record is two envelope fields, `record_id` then `sequence` (what identifies a
record and orders a dataset), followed by the payload's declared properties in the order the
schema writes them — the order the report's author chose, which dict order preserves. Were
a payload to declare `record_id` or `sequence` itself, the envelope's column takes a leading
underscore (`_record_id`) until the name is free, so no payload value is ever hidden.

Two views of the same plan:
- tabular formats (CSV, XLSX) get one column per leaf: nested objects are flattened into
  `a.b` columns; an array, an object without declared properties, or a value of no single
  type stays one column holding JSON text. Undeclared payload keys are ignored, since a
  table's columns must be known before its first row.
- structured formats (JSON, JSON Lines, YAML, XML) get the record nested as declared, keys
  in schema order, missing optional fields as null, and undeclared keys kept after the
  declared ones (the record as the crawler emitted it, only reordered).
A payload schema without properties (or not an object) is exported as one field, `payload`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from trawl.stream.avro_schema import ADDITIONAL_FIELD, avro_name

Kind = Literal["string", "integer", "number", "boolean", "array", "object", "json"]
ENVELOPE_KEYS = ("record_id", "sequence")
PAYLOAD_FIELD = "payload"
_COMBINATORS = ("oneOf", "anyOf", "allOf", "not", "$ref", "if", "prefixItems")
_PRIMITIVES: dict[str, Kind] = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
}


@dataclass(frozen=True, slots=True)
class Field:
    """A declared property: `children` for an object's properties, `items` for an array's."""

    name: str
    kind: Kind
    children: tuple[Field, ...] = ()
    items: Field | None = None


@dataclass(frozen=True, slots=True)
class Column:
    """A tabular column: its header (`price.amount`) and the keys leading to its value."""

    name: str
    path: tuple[str, ...]
    kind: Kind


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """The envelope columns (exported name, envelope key), then the payload's fields."""

    envelope: tuple[tuple[str, str], ...]
    fields: tuple[Field, ...]
    payload_is_record: bool
    columns: tuple[Column, ...] = field(init=False)

    def __post_init__(self) -> None:
        leaves = [Column(name, (name,), _envelope_kind(key)) for name, key in self.envelope]
        for declared in self.fields:
            leaves.extend(_leaves(declared, ()))
        object.__setattr__(self, "columns", tuple(leaves))

    @property
    def header(self) -> list[str]:
        return [column.name for column in self.columns]


def _envelope_kind(key: str) -> Kind:
    return "integer" if key == "sequence" else "string"


def _leaves(declared: Field, prefix: tuple[str, ...]) -> list[Column]:
    path = (*prefix, declared.name)
    if declared.kind == "object":
        return [leaf for child in declared.children for leaf in _leaves(child, path)]
    return [Column(".".join(path), path, declared.kind)]


def plan_columns(record_schema: Mapping[str, Any]) -> ColumnPlan:
    """The export plan of a report's record schema."""
    if _kind(record_schema) == "object":
        fields = _children(record_schema)
        payload_is_record = True
    else:
        fields = (Field(PAYLOAD_FIELD, "json"),)
        payload_is_record = False
    # Avro and Parquet name fields by their sanitised names, so those are taken too.
    taken = {f.name for f in fields} | {avro_name(f.name) for f in fields} | {ADDITIONAL_FIELD}
    envelope = tuple((_free_name(key, taken), key) for key in ENVELOPE_KEYS)
    return ColumnPlan(envelope, fields, payload_is_record)


def _free_name(name: str, taken: set[str]) -> str:
    while name in taken:
        name = f"_{name}"
    taken.add(name)
    return name


def _types_of(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    return [t for t in types if t != "null"]


def _kind(schema: object) -> Kind:
    if not isinstance(schema, Mapping) or any(k in schema for k in _COMBINATORS):
        return "json"
    if "enum" in schema or "const" in schema:
        values = schema["enum"] if "enum" in schema else [schema["const"]]
        return "string" if all(isinstance(v, str) for v in values if v is not None) else "json"
    types = _types_of(schema)
    if len(types) != 1:
        return "json"
    if types[0] in _PRIMITIVES:
        return _PRIMITIVES[types[0]]
    if types[0] == "array":
        return "array"
    if types[0] == "object" and isinstance(schema.get("properties"), Mapping):
        return "object"
    return "json"


def _field(name: str, schema: object) -> Field:
    kind = _kind(schema)
    if kind == "object":
        assert isinstance(schema, Mapping)
        return Field(name, kind, children=_children(schema))
    if kind == "array":
        assert isinstance(schema, Mapping)
        return Field(name, kind, items=_field("item", schema.get("items")))
    return Field(name, kind)


def _children(schema: Mapping[str, Any]) -> tuple[Field, ...]:
    properties: Mapping[str, Any] = schema["properties"]
    return tuple(_field(str(name), sub) for name, sub in properties.items())


# -- values ---------------------------------------------------------------------------------


def json_text(value: Any) -> str:
    """Compact JSON for a value held in one cell; non-ASCII kept readable, key order kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def flatten(envelope: Mapping[str, Any], plan: ColumnPlan) -> list[Any]:
    """The row of an enveloped record: one value per column of `plan`, None where absent.
    Scalars stay Python scalars; arrays and objects become JSON text."""
    root = export_root(envelope, plan)
    row: list[Any] = []
    for column in plan.columns:
        value: Any = root
        for key in column.path:
            value = value.get(key) if isinstance(value, Mapping) else None
        row.append(json_text(value) if isinstance(value, Mapping | list) else value)
    return row


def export_root(envelope: Mapping[str, Any], plan: ColumnPlan) -> dict[str, Any]:
    """The envelope columns and the payload's top level side by side, unordered."""
    payload = envelope.get("payload")
    if plan.payload_is_record and isinstance(payload, Mapping):
        root = dict(payload)
    else:
        root = {PAYLOAD_FIELD: payload}
    for name, key in plan.envelope:
        root[name] = envelope.get(key)
    return root


def nest(envelope: Mapping[str, Any], plan: ColumnPlan) -> dict[str, Any]:
    """The record for structured formats: envelope columns, the declared fields in schema
    order (null when missing), then undeclared keys in the order they came."""
    payload = envelope.get("payload")
    out: dict[str, Any] = {name: envelope.get(key) for name, key in plan.envelope}
    if not plan.payload_is_record:
        out[PAYLOAD_FIELD] = payload
        return out
    source = payload if isinstance(payload, Mapping) else {}
    for key, value in _ordered(source, plan.fields).items():
        out.setdefault(key, value)  # an undeclared key never hides an envelope column
    return out


def _ordered(value: Mapping[str, Any], fields: Sequence[Field]) -> dict[str, Any]:
    out = {f.name: _shaped(value.get(f.name), f) for f in fields}
    for key, extra in value.items():
        if key not in out:
            out[key] = extra
    return out


def _shaped(value: Any, declared: Field) -> Any:
    if declared.kind == "object" and isinstance(value, Mapping):
        return _ordered(value, declared.children)
    if declared.kind == "array" and isinstance(value, list) and declared.items is not None:
        return [_shaped(item, declared.items) for item in value]
    return value
