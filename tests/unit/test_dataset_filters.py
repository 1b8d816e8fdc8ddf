"""The dataset filter language and projection: declared fields only, operands type-checked
and always wrapped in an explicit operator (never passed through as MongoDB operators),
payload keys escaped as the sink stores them, and cursors that round-trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trawl.domain.datasets.cursor import RecordKey
from trawl.domain.datasets.fields import declared_fields
from trawl.domain.datasets.filters import Condition, Op, compile_filter, escape_regex
from trawl.domain.datasets.projection import compile_projection
from trawl.domain.errors import InvalidInput
from trawl.events.key_cursor import encode_cursor

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "price": {"type": "number"},
        "stock": {"type": "integer"},
        "in_stock": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "note": {"type": ["string", "null"]},
        "any": {},
        "dims": {"type": "object", "properties": {"width": {"type": "number"}}},
        "a.b": {"type": "string"},
        "$ref": {"type": "string"},
    },
}
FIELDS = declared_fields(SCHEMA)


def compiled(field: str, op: Op, value: Any = None) -> dict[str, Any]:
    text = "" if value is None else json.dumps(value)
    (clause,) = compile_filter([Condition(field, op, text)], FIELDS)
    return clause


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("title", Op.EQ, "Lamp", {"payload.title": {"$eq": "Lamp"}}),
        ("price", Op.EQ, 3, {"payload.price": {"$eq": 3}}),
        ("stock", Op.EQ, 3.0, {"payload.stock": {"$eq": 3.0}}),
        ("in_stock", Op.EQ, True, {"payload.in_stock": {"$eq": True}}),
        ("title", Op.IN, ["a", "b"], {"payload.title": {"$in": ["a", "b"]}}),
        ("price", Op.GT, 1.5, {"payload.price": {"$gt": 1.5}}),
        ("stock", Op.LTE, 2.5, {"payload.stock": {"$lte": 2.5}}),
        ("title", Op.GTE, "m", {"payload.title": {"$gte": "m"}}),
        ("note", Op.EXISTS, None, {"payload.note": {"$exists": True}}),
        ("note", Op.EXISTS, False, {"payload.note": {"$exists": False}}),
        ("title", Op.CONTAINS, "a.b*", {"payload.title": {"$regex": r"a\.b\*", "$options": "i"}}),
        ("tags", Op.CONTAINS, "red", {"payload.tags": {"$elemMatch": {"$eq": "red"}}}),
        ("dims.width", Op.LT, 10, {"payload.dims.width": {"$lt": 10}}),
        ("a.b", Op.EQ, "x", {"payload.a\uff0eb": {"$eq": "x"}}),
        ("$ref", Op.EQ, "x", {"payload.\uff04ref": {"$eq": "x"}}),
        ("any", Op.EQ, 1, {"payload.any": {"$eq": 1}}),
    ],
)
def test_conditions_compile_to_explicit_operators(
    field: str, op: Op, value: Any, expected: dict[str, Any]
) -> None:
    assert compiled(field, op, value) == expected


@pytest.mark.parametrize(
    ("field", "op", "value", "mentions"),
    [
        ("colour", Op.EQ, "red", "'colour' is not a declared field"),
        ("dims.depth", Op.EQ, 1, "'dims.depth'"),
        ("price", Op.EQ, {"$gt": 1}, "not object"),
        ("title", Op.EQ, {"$ne": None}, "not object"),
        ("title", Op.IN, {"$in": ["a"]}, "non-empty list"),
        ("title", Op.IN, [{"$gt": ""}], "not object"),
        ("price", Op.EQ, "3", "'price' holds number values"),
        ("title", Op.EQ, 3, "'title' holds string values"),
        ("in_stock", Op.GT, 1, "does not apply to 'in_stock'"),
        ("price", Op.GT, True, "takes a number or a string"),
        ("price", Op.GT, "a", "'price' holds number values"),
        ("note", Op.EXISTS, "yes", "true or false"),
        ("price", Op.CONTAINS, "1", "CONTAINS on 'price'"),
        ("tags", Op.CONTAINS, 3, "'tags' holds string values"),
        ("tags", Op.EQ, "red", "use CONTAINS"),
        ("dims", Op.EQ, 1, "use CONTAINS"),
        ("title", Op.CONTAINS, "", "CONTAINS on 'title'"),
        ("price", Op.EQ, 2**70, "outside 64 bits"),
    ],
)
def test_undeclared_fields_and_wrong_types_are_refused_naming_the_field(
    field: str, op: Op, value: Any, mentions: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        compiled(field, op, value)
    assert refused.value.field == "filter"
    assert mentions in refused.value.message


def test_non_json_operands_are_refused() -> None:
    for text in ("NaN", "{", "Infinity"):
        with pytest.raises(InvalidInput):
            compile_filter([Condition("price", Op.EQ, text)], FIELDS)


def test_regex_escaping_leaves_no_metacharacter_active() -> None:
    assert escape_regex("(a|b)+[c]{2}^$.?\\/-") == r"\(a\|b\)\+\[c\]\{2\}\^\$\.\?\\\/\-"


def test_projection_keeps_the_envelope_and_drops_nested_overlaps() -> None:
    projection = compile_projection(["dims.width", "title", "dims", "title"], FIELDS)
    assert projection == {
        "_id": 0,
        "record_id": 1,
        "attempt": 1,
        "sequence": 1,
        "emitted_at": 1,
        "payload.dims": 1,
        "payload.title": 1,
    }
    assert compile_projection(None, FIELDS) is None
    with pytest.raises(InvalidInput) as refused:
        compile_projection(["secret"], FIELDS)
    assert refused.value.field == "fields" and "'secret'" in refused.value.message


def test_cursors_round_trip_and_foreign_cursors_are_refused() -> None:
    key = RecordKey(2, 17, "rec:with:colons")
    assert RecordKey.from_cursor(key.cursor()) == key
    too_big = encode_cursor(f"1:{2**63}:r")  # 19 digits, past MongoDB's 64-bit integers
    for bad in ("nope", encode_cursor("2024-01-01T00:00:00Z#x"), encode_cursor("1:x:r"), too_big):
        with pytest.raises(InvalidInput) as refused:
            RecordKey.from_cursor(bad)
        assert refused.value.field == "after"
