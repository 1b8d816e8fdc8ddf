"""Avro schemas derived from report record schemas, and records converted to them: type
mapping, nullability, names, determinism, and a fastavro round trip."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import fastavro
import pytest

from trawl.stream.avro_schema import (
    ADDITIONAL_FIELD,
    AvroConversionError,
    avro_name,
    derive_avro_schema,
    to_avro_record,
)

PRODUCT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "price": {"type": "number"},
        "stock": {"type": "integer"},
        "in_sale": {"type": "boolean"},
        "colour": {"type": "string", "enum": ["red", "blue"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "extra": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "attrs": {"type": "object", "additionalProperties": {"type": "string"}},
        "anything": {},
        "price-usd": {"type": ["number", "null"]},
    },
    "required": ["name", "price", "price-usd"],
}


def envelope(payload: dict[str, Any], sequence: int = 0) -> dict[str, Any]:
    return {
        "record_id": f"r{sequence}",
        "organization_id": "org1",
        "project_id": "p1",
        "report_id": "rep1",
        "run_id": "run1",
        "attempt": 1,
        "sequence": sequence,
        "emitted_at": "2025-03-01T12:00:00+00:00",
        "payload": payload,
    }


def payload_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    payload = next(f for f in schema["fields"] if f["name"] == "payload")
    return {f["name"]: f for f in payload["type"]["fields"]}


JSON = {"type": "string", "logicalType": "json"}


@pytest.mark.parametrize(
    ("name", "expected_type"),
    [
        ("name", "string"),
        ("price", "double"),
        ("stock", ["null", "long"]),
        ("in_sale", ["null", "boolean"]),
        ("colour", ["null", "string"]),
        ("tags", ["null", {"type": "array", "items": "string"}]),
        ("extra", ["null", JSON]),
        ("attrs", ["null", JSON]),
        ("anything", ["null", JSON]),
        ("price_usd", ["null", "double"]),
    ],
)
def test_json_types_map_to_avro_types(name: str, expected_type: Any) -> None:
    field = payload_fields(derive_avro_schema(PRODUCT))[name]
    assert field["type"] == expected_type
    if isinstance(expected_type, list):
        assert field["default"] is None
    else:
        assert "default" not in field


def test_nested_objects_become_named_records() -> None:
    address = payload_fields(derive_avro_schema(PRODUCT))["address"]
    assert address["type"] == [
        "null",
        {
            "type": "record",
            "name": "Payload_address",
            "fields": [{"name": "city", "type": "string"}],
        },
    ]


def test_record_names_never_collide() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {"b": {"type": "object", "properties": {}}}},
            "a_b": {"type": "object", "properties": {}},
        },
    }
    fastavro.parse_schema(derive_avro_schema(schema))  # raises on a redefined name


def test_envelope_fields_come_first() -> None:
    names = [f["name"] for f in derive_avro_schema(PRODUCT)["fields"]]
    assert names == [
        "record_id",
        "organization_id",
        "project_id",
        "report_id",
        "run_id",
        "attempt",
        "sequence",
        "emitted_at",
        "payload",
    ]


@pytest.mark.parametrize(
    ("text", "name"), [("price-usd", "price_usd"), ("1st", "_1st"), ("", "_"), ("ok_1", "ok_1")]
)
def test_names_are_made_valid_avro_names(text: str, name: str) -> None:
    assert avro_name(text) == name


def test_the_same_json_schema_gives_the_same_avro_schema_whatever_its_key_order() -> None:
    reordered = json.loads(json.dumps(PRODUCT))
    reordered["properties"] = dict(reversed(list(reordered["properties"].items())))
    assert derive_avro_schema(PRODUCT) == derive_avro_schema(reordered)
    assert json.dumps(derive_avro_schema(PRODUCT)) == json.dumps(derive_avro_schema(PRODUCT))


def test_a_schema_that_is_not_an_object_gives_a_json_payload() -> None:
    schema = derive_avro_schema({"oneOf": [{"type": "object"}, {"type": "array"}]})
    payload = next(f for f in schema["fields"] if f["name"] == "payload")
    assert payload["type"] == JSON
    record = to_avro_record(envelope({"b": 1, "a": [2]}), schema)
    assert record["payload"] == '{"a":[2],"b":1}'


def round_trip(schema: dict[str, Any], records: list[dict[str, Any]]) -> list[Any]:
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), records)
    buffer.seek(0)
    return list(fastavro.reader(buffer))


def test_a_record_converts_and_round_trips_through_fastavro() -> None:
    schema = derive_avro_schema(PRODUCT)
    payload = {
        "name": "Lamp",
        "price": 10,  # an int for a number: becomes a double
        "stock": 3.0,  # JSON Schema counts 3.0 as an integer
        "colour": "red",
        "tags": ["a", "b"],
        "address": {"city": "Oslo"},
        "extra": 5,
        "attrs": {"k": "v"},
        "price-usd": None,
        "surprise": True,
    }
    record = to_avro_record(envelope(payload), schema)
    [read] = round_trip(schema, [record])
    assert read == record
    assert read["payload"]["price"] == 10.0 and isinstance(read["payload"]["price"], float)
    assert read["payload"]["stock"] == 3 and isinstance(read["payload"]["stock"], int)
    assert read["payload"]["address"] == {"city": "Oslo"}
    assert read["payload"]["extra"] == "5"
    assert read["payload"]["attrs"] == '{"k":"v"}'
    assert read["payload"]["in_sale"] is None
    assert read["payload"][ADDITIONAL_FIELD] == '{"surprise":true}'
    assert read["sequence"] == 0 and read["run_id"] == "run1"


def test_a_property_named_like_the_additional_field_keeps_its_value() -> None:
    schema = derive_avro_schema(
        {"type": "object", "properties": {ADDITIONAL_FIELD: {"type": "string"}}}
    )
    record = to_avro_record(envelope({ADDITIONAL_FIELD: "mine", "x": 1}), schema)
    assert record["payload"] == {f"{ADDITIONAL_FIELD}_2": "mine", ADDITIONAL_FIELD: '{"x":1}'}
    assert round_trip(schema, [record]) == [record]


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"price": 1, "price-usd": 1}, "$.payload.name"),
        ({"name": "L", "price": "x", "price-usd": 1}, "$.payload.price"),
        ({"name": "L", "price": 1, "price-usd": 1, "stock": 1.5}, "$.payload.stock"),
        ({"name": "L", "price": 1, "price-usd": 1, "stock": 2**63}, "$.payload.stock"),
        ({"name": "L", "price": 1, "price-usd": 1, "tags": ["a", 1]}, "$.payload.tags[1]"),
        ({"name": "L", "price": True, "price-usd": 1}, "$.payload.price"),
        ({"name": "L", "price": 10**400, "price-usd": 1}, "$.payload.price"),
    ],
)
def test_a_value_that_does_not_fit_names_its_path(payload: dict[str, Any], path: str) -> None:
    with pytest.raises(AvroConversionError, match=f"^{re.escape(path)}: "):
        to_avro_record(envelope(payload), derive_avro_schema(PRODUCT))
