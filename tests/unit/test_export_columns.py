"""The export plan of a record schema: column order, flattening, nesting of structured
records, undeclared keys and names that collide with the envelope's."""

from __future__ import annotations

from typing import Any

import pytest

from trawl.exports import Compression, ExportFormat, content_type, envelope_of, file_extension
from trawl.exports.columns import flatten, nest, plan_columns
from trawl.stream.sinks.mongo import record_document

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "price": {
            "type": "object",
            "properties": {
                "amount": {"type": "number"},
                "seller": {"type": "object", "properties": {"id": {"type": "integer"}}},
            },
        },
        "tags": {"type": "array", "items": {"type": "string"}},
        "attrs": {"type": "object", "additionalProperties": {"type": "string"}},
        "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "in_stock": {"type": ["boolean", "null"]},
    },
}


def _envelope(payload: Any) -> dict[str, Any]:
    return {"record_id": "r1", "sequence": 7, "run_id": "run", "payload": payload}


def test_columns_follow_the_schema_order_with_nested_objects_flattened() -> None:
    plan = plan_columns(SCHEMA)

    assert plan.header == [
        "record_id",
        "sequence",
        "name",
        "price.amount",
        "price.seller.id",
        "tags",
        "attrs",
        "either",
        "in_stock",
    ]
    kinds = {c.name: c.kind for c in plan.columns}
    assert kinds["price.seller.id"] == "integer"
    assert kinds["tags"] == "array"
    assert kinds["attrs"] == kinds["either"] == "json"
    assert kinds["in_stock"] == "boolean"


def test_flatten_gives_scalars_as_is_and_arrays_and_maps_as_json_text() -> None:
    payload = {
        "tags": ["a", "é"],
        "price": {"seller": {"id": 3}},
        "attrs": {"k": "v"},
        "name": "x",
        "undeclared": 1,
    }

    row = flatten(_envelope(payload), plan_columns(SCHEMA))

    assert row == ["r1", 7, "x", None, 3, '["a","é"]', '{"k":"v"}', None, None]


def test_flatten_reads_a_missing_parent_object_as_null_leaves() -> None:
    row = flatten(_envelope({"price": "not an object"}), plan_columns(SCHEMA))

    assert row[3:5] == [None, None]


def test_nest_orders_declared_keys_fills_missing_with_null_and_keeps_undeclared_last() -> None:
    payload = {"zz": 1, "price": {"extra": True, "amount": 2.5}, "name": "x"}

    record = nest(_envelope(payload), plan_columns(SCHEMA))

    assert list(record) == [
        "record_id",
        "sequence",
        "name",
        "price",
        "tags",
        "attrs",
        "either",
        "in_stock",
        "zz",
    ]
    assert record["price"] == {"amount": 2.5, "seller": None, "extra": True}
    assert list(record["price"]) == ["amount", "seller", "extra"]
    assert record["tags"] is None


def test_array_items_that_are_objects_are_ordered_by_their_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "offers": {
                "type": "array",
                "items": {"type": "object", "properties": {"b": {}, "a": {}}},
            }
        },
    }

    record = nest(_envelope({"offers": [{"a": 1, "b": 2}]}), plan_columns(schema))

    assert list(record["offers"][0]) == ["b", "a"]


def test_a_payload_property_named_like_an_envelope_column_pushes_the_envelope_aside() -> None:
    schema = {"type": "object", "properties": {"sequence": {"type": "string"}}}
    plan = plan_columns(schema)

    record = nest(_envelope({"sequence": "abc"}), plan)

    assert plan.header == ["record_id", "_sequence", "sequence"]
    assert record == {"record_id": "r1", "_sequence": 7, "sequence": "abc"}


def test_an_undeclared_key_never_hides_an_envelope_column() -> None:
    record = nest(_envelope({"record_id": "spoofed"}), plan_columns(SCHEMA))

    assert record["record_id"] == "r1"


@pytest.mark.parametrize("schema", [{}, {"type": "object"}, {"type": "array"}])
def test_a_schema_without_properties_exports_the_payload_as_one_field(
    schema: dict[str, Any],
) -> None:
    plan = plan_columns(schema)
    payload = {"b": 1, "a": [2]}

    assert plan.header == ["record_id", "sequence", "payload"]
    assert nest(_envelope(payload), plan)["payload"] == payload
    assert flatten(_envelope(payload), plan)[2] == '{"b":1,"a":[2]}'


@pytest.mark.parametrize(
    ("export_format", "compression", "extension", "media_type"),
    [
        ("csv", "none", ".csv", "text/csv; charset=utf-8"),
        ("jsonl", "none", ".jsonl", "application/jsonl"),
        ("parquet", "none", ".parquet", "application/vnd.apache.parquet"),
        ("xlsx", "gzip", ".xlsx.gz", "application/gzip"),
        ("yaml", "zip", ".yaml.zip", "application/zip"),
    ],
)
def test_file_extension_and_content_type_name_the_outer_layer(
    export_format: str, compression: str, extension: str, media_type: str
) -> None:
    assert file_extension(export_format, compression) == extension
    assert content_type(ExportFormat(export_format), Compression(compression)) == media_type


def test_every_format_has_a_content_type() -> None:
    for export_format in ExportFormat:
        assert content_type(export_format, Compression.NONE)


def test_a_stored_document_becomes_the_envelope_it_was_made_from() -> None:
    envelope = {
        "record_id": "r1",
        "organization_id": "org",
        "project_id": "p",
        "report_id": "rep",
        "run_id": "run",
        "attempt": 1,
        "sequence": 3,
        "emitted_at": "2024-05-01T00:00:00Z",
        "payload": {"a.b": 1, "$c": {"d.e": [2]}},
    }

    assert envelope_of(record_document(envelope)) == envelope
