"""The typed schema of an export in Avro and Parquet, reusing the stream's Avro derivation
(trawl.stream.avro_schema) so both formats type a report's records exactly as the S3 Avro
history does: integer → long, number → double, nested objects → nested records, arrays →
arrays, nullable where not required, anything without one type → JSON text, undeclared keys
of an open object → JSON text in `_additional`, names sanitised with the JSON name kept.

Two changes for an export: the record is the plan's envelope columns (`record_id`,
`sequence`) followed by the payload's fields, as in every other format, rather than the
full envelope around a `payload` record; and fields follow the order of the JSON schema's
properties (the derivation sorts them by name, for schema evolution across parts, which
an export does not need), `_additional` last."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from trawl.crawlers.buffer import canonical_json
from trawl.exports.columns import PAYLOAD_FIELD, ColumnPlan
from trawl.exports.writer import ExportError
from trawl.stream.avro_schema import (
    ADDITIONAL_FIELD,
    AvroConversionError,
    AvroType,
    derive_avro_schema,
    to_avro_record,
)

NAMESPACE = "trawl.exports"
RECORD_NAME = "Record"
_ARROW_PRIMITIVES = {
    "string": pa.string(),
    "long": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
}


class TypedSchema:
    """The export's Avro schema, and the conversion of an envelope into a value of it."""

    def __init__(self, record_schema: Mapping[str, Any], plan: ColumnPlan) -> None:
        self._plan = plan
        derived = derive_avro_schema(record_schema)["fields"][-1]["type"]
        if plan.payload_is_record:
            self._payload: dict[str, Any] | None = _in_schema_order(derived, record_schema)
            payload_fields = list(self._payload["fields"])
        else:
            self._payload = None
            json_type = {"type": "string", "logicalType": "json"}
            payload_fields = [{"name": PAYLOAD_FIELD, "type": ["null", json_type], "default": None}]
        (id_name, _), (sequence_name, _) = plan.envelope
        envelope = [{"name": id_name, "type": "string"}, {"name": sequence_name, "type": "long"}]
        self.avro: dict[str, Any] = {
            "type": "record",
            "name": RECORD_NAME,
            "namespace": NAMESPACE,
            "fields": [*envelope, *payload_fields],
        }

    def convert(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """The record as a value of `self.avro`; ExportError when it does not fit."""
        (id_name, id_key), (sequence_name, sequence_key) = self._plan.envelope
        record_id, sequence = envelope.get(id_key), envelope.get(sequence_key)
        if record_id is None or not isinstance(sequence, int) or isinstance(sequence, bool):
            raise ExportError(f"record {record_id!r}: no record id or sequence number")
        out: dict[str, Any] = {id_name: str(record_id), sequence_name: sequence}
        payload = envelope.get("payload")
        if self._payload is None:
            out[PAYLOAD_FIELD] = None if payload is None else canonical_json(payload)
            return out
        if not isinstance(payload, Mapping):
            raise ExportError(f"record {record_id!r}: the payload is not an object")
        try:
            out.update(to_avro_record(payload, self._payload))
        except AvroConversionError as error:
            raise ExportError(f"record {record_id!r}: {error}") from error
        return out

    def arrow(self) -> pa.Schema:
        """The Parquet (Arrow) schema of the same records; field names are the Avro names,
        and a sanitised one keeps its JSON name in the field's metadata."""
        return pa.schema([_arrow_field(field) for field in self.avro["fields"]])


def _is_additional(field: Mapping[str, Any]) -> bool:
    return field["name"] == ADDITIONAL_FIELD and "json_name" not in field


def _in_schema_order(avro: AvroType, schema: object) -> Any:
    """`avro` with every record's fields in the order of the JSON schema's properties."""
    if isinstance(avro, list):
        return [_in_schema_order(branch, schema) for branch in avro]
    if not isinstance(avro, dict) or not isinstance(schema, Mapping):
        return avro
    if avro.get("type") == "array":
        return {**avro, "items": _in_schema_order(avro["items"], schema.get("items"))}
    if avro.get("type") != "record":
        return avro
    properties: Mapping[str, Any] = schema.get("properties") or {}
    position = {name: i for i, name in enumerate(properties)}

    def place(field: Mapping[str, Any]) -> int:
        if _is_additional(field):
            return len(position)
        return position[field.get("json_name", field["name"])]

    fields = []
    for field in sorted(avro["fields"], key=place):
        declared = (
            None if _is_additional(field) else properties[field.get("json_name", field["name"])]
        )
        fields.append({**field, "type": _in_schema_order(field["type"], declared)})
    return {**avro, "fields": fields}


def _arrow_type(avro: AvroType) -> tuple[pa.DataType, bool]:
    """The Arrow type of an Avro type, and whether it admits null."""
    if isinstance(avro, list):
        branch = next(t for t in avro if t != "null")
        return _arrow_type(branch)[0], True
    if isinstance(avro, str):
        return _ARROW_PRIMITIVES[avro], False
    if avro.get("logicalType") == "json":
        return pa.string(), False
    if avro["type"] == "array":
        items, nullable = _arrow_type(avro["items"])
        return pa.list_(pa.field("element", items, nullable=nullable)), False
    if avro["type"] == "record":
        return pa.struct([_arrow_field(field) for field in avro["fields"]]), False
    return _arrow_type(avro["type"])


def _arrow_field(field: Mapping[str, Any]) -> pa.Field:
    arrow, nullable = _arrow_type(field["type"])
    metadata = {"json_name": field["json_name"]} if "json_name" in field else None
    return pa.field(field["name"], arrow, nullable=nullable, metadata=metadata)
