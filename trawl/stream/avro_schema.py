"""The Avro schema of a report's records in S3, derived from its JSON record schema, and the
conversion of an enveloped record into a value of that schema.

A record is the envelope fields (record_id, organization_id, project_id, report_id, run_id,
attempt, sequence, emitted_at) plus `payload`, a record built from the report's schema:
string → string, integer → long, number → double, boolean → boolean, arrays → arrays,
objects with properties → nested records named after their path (`Payload_address`), enums
of strings → string. A property that is not required, or whose type allows null, is
`["null", T]` with default null. Anything else (oneOf/anyOf/allOf, $ref, maps given by
additionalProperties, no type, mixed types) is a string holding canonical JSON, marked
`"logicalType": "json"` (readers that don't know it see a plain string). Undeclared keys of
an object that allows them are kept, as JSON, in its `_additional` field.

Property names that are not Avro names are sanitised (`price-usd` → `price_usd`) and keep
their JSON name in `json_name`. Properties are sorted by name, so the same JSON schema —
whatever the order of its keys — always gives the same Avro schema, and the parts of one
run stay compatible."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

from trawl.crawlers.buffer import canonical_json

NAMESPACE = "trawl.records"
RECORD_NAME = "Record"
PAYLOAD_NAME = "Payload"
ADDITIONAL_FIELD = "_additional"
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_UNMAPPABLE_KEYS = ("oneOf", "anyOf", "allOf", "not", "$ref", "if", "prefixItems")
_PRIMITIVES = {"string": "string", "integer": "long", "number": "double", "boolean": "boolean"}

AvroType = str | dict[str, Any] | list[Any]

ENVELOPE_FIELDS: list[dict[str, Any]] = [
    {"name": "record_id", "type": "string"},
    {"name": "organization_id", "type": "string"},
    {"name": "project_id", "type": "string"},
    {"name": "report_id", "type": "string"},
    {"name": "run_id", "type": "string"},
    {"name": "attempt", "type": "long"},
    {"name": "sequence", "type": "long"},
    {"name": "emitted_at", "type": "string"},
]


class AvroConversionError(ValueError):
    """A value does not fit the derived schema: a record that skipped validation, or a
    number JSON Schema accepts but Avro cannot hold (an integer beyond 64 bits)."""


def avro_name(text: str) -> str:
    """`text` as an Avro name: [A-Za-z_][A-Za-z0-9_]*."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text) or "_"
    return f"_{name}" if name[0].isdigit() else name


def derive_avro_schema(record_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The Avro schema (a JSON-able dict for fastavro.parse_schema) of a report's records."""
    deriver = _Deriver()
    if _is_record(record_schema):
        payload: AvroType = deriver.record(record_schema, PAYLOAD_NAME)
    else:
        payload = _json_string()
    return {
        "type": "record",
        "name": RECORD_NAME,
        "namespace": NAMESPACE,
        "fields": [*(dict(f) for f in ENVELOPE_FIELDS), {"name": "payload", "type": payload}],
    }


def _json_string() -> dict[str, Any]:
    return {"type": "string", "logicalType": "json"}


def _types_of(schema: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The declared JSON types other than null, and whether null is allowed."""
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    return [t for t in types if t != "null"], "null" in types


def _is_record(schema: Mapping[str, Any]) -> bool:
    types, _ = _types_of(schema)
    return (
        types == ["object"]
        and isinstance(schema.get("properties"), Mapping)
        and not any(key in schema for key in _UNMAPPABLE_KEYS)
    )


def _nullable(avro: AvroType) -> list[Any]:
    return avro if isinstance(avro, list) else ["null", avro]


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _enum_type(values: list[Any], allows_null: bool) -> tuple[AvroType, bool]:
    strings = all(isinstance(v, str) for v in values if v is not None)
    if not strings:
        return _json_string(), True
    return "string", allows_null or None in values


class _Deriver:
    """One derivation: tracks record names so that nested records never share one."""

    def __init__(self) -> None:
        self._record_names: set[str] = set()

    def type_of(self, schema: object, path: str) -> tuple[AvroType, bool]:
        """The Avro type for a JSON schema, and whether it must admit null."""
        if not isinstance(schema, Mapping) or any(k in schema for k in _UNMAPPABLE_KEYS):
            return _json_string(), True
        types, allows_null = _types_of(schema)
        if "enum" in schema or "const" in schema:
            values = schema["enum"] if "enum" in schema else [schema["const"]]
            return _enum_type(list(values), allows_null)
        if len(types) != 1:
            return _json_string(), True
        kind = types[0]
        if kind in _PRIMITIVES:
            return _PRIMITIVES[kind], allows_null
        if kind == "array":
            items, nullable = self.type_of(schema.get("items"), f"{path}_item")
            return {"type": "array", "items": _nullable(items) if nullable else items}, allows_null
        if _is_record(schema):
            return self.record(schema, path), allows_null
        return _json_string(), True

    def record(self, schema: Mapping[str, Any], name: str) -> dict[str, Any]:
        record_name = _unique(name, self._record_names)
        properties: Mapping[str, Any] = schema["properties"]
        required = set(schema.get("required") or [])
        taken = {ADDITIONAL_FIELD}  # reserved, so a property of that name is renamed
        fields: list[dict[str, Any]] = []
        for json_name in sorted(properties):
            field_name = _unique(avro_name(json_name), taken)
            avro, nullable = self.type_of(properties[json_name], f"{record_name}_{field_name}")
            field: dict[str, Any] = {"name": field_name, "type": avro}
            if nullable or json_name not in required:
                field.update(type=_nullable(avro), default=None)
            if field_name != json_name:
                field["json_name"] = json_name
            fields.append(field)
        if schema.get("additionalProperties", True) is not False:
            extra = {"name": ADDITIONAL_FIELD, "type": ["null", _json_string()], "default": None}
            fields.append(extra)
        return {"type": "record", "name": record_name, "fields": fields}


def to_avro_record(envelope: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope as a value of `schema` (from derive_avro_schema); AvroConversionError
    names the path of a value that does not fit."""
    return _convert_record(schema, envelope, "$")


def _convert(avro: AvroType, value: Any, path: str) -> Any:
    if isinstance(avro, list):
        if value is None:
            return None
        return _convert(next(t for t in avro if t != "null"), value, path)
    if value is None:
        raise AvroConversionError(f"{path}: null where a value is required")
    if isinstance(avro, dict):
        return _convert_complex(avro, value, path)
    return _convert_primitive(avro, value, path)


def _convert_complex(avro: dict[str, Any], value: Any, path: str) -> Any:
    if avro.get("logicalType") == "json":
        return canonical_json(value)
    if avro["type"] == "array":
        if not isinstance(value, list):
            raise AvroConversionError(f"{path}: expected an array")
        return [_convert(avro["items"], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if avro["type"] == "record":
        if not isinstance(value, Mapping):
            raise AvroConversionError(f"{path}: expected an object")
        return _convert_record(avro, value, path)
    return _convert(avro["type"], value, path)


def _convert_record(avro: Mapping[str, Any], value: Mapping[str, Any], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    declared: set[str] = set()
    keeps_extra = False
    for field in avro["fields"]:
        if field["name"] == ADDITIONAL_FIELD:
            keeps_extra = True
            continue
        key = field.get("json_name", field["name"])
        declared.add(key)
        out[field["name"]] = _convert(field["type"], value.get(key), f"{path}.{key}")
    if keeps_extra:
        extra = {k: v for k, v in value.items() if k not in declared}
        out[ADDITIONAL_FIELD] = canonical_json(extra) if extra else None
    return out


def _convert_primitive(avro: str, value: Any, path: str) -> Any:
    if avro == "string" and isinstance(value, str):
        return value
    if avro == "boolean" and isinstance(value, bool):
        return value
    if avro == "double" and isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # an int beyond a double's range
            return float(value)
    if avro == "long" and not isinstance(value, bool):
        # JSON Schema counts 1.0 as an integer.
        number = int(value) if isinstance(value, float) and value.is_integer() else value
        if isinstance(number, int) and _LONG_MIN <= number <= _LONG_MAX:
            return number
    raise AvroConversionError(f"{path}: {type(value).__name__} value does not fit Avro {avro}")
