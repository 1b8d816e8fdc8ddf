"""Awkward values through every format: unicode, separators and line breaks, characters XML
cannot carry, spreadsheet formulas, names that are not identifiers, undeclared keys (kept
by structured formats, dropped by tables, JSON text in `_additional` for typed ones),
missing optional fields, values of no single type, and records that do not fit."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from typing import Any

import fastavro
import openpyxl
import pyarrow.parquet as pq
import pytest
import yaml

from trawl.exports import ExportError, export_records

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "count": {"type": "integer"},
        "ratio": {"type": ["number", "null"]},
        "flag": {"type": "boolean"},
        "price-usd": {"type": "number"},
        "1st": {"type": "string"},
        "unit price": {"type": "string"},
        "meta": {"type": "object", "properties": {"k": {"type": "string"}}},
        "any": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    },
    "required": ["text"],
}
TRICKY = 'Zoë, "quoted"\r\nnext line ✓ 😀\ttab'
PAYLOADS: list[dict[str, Any]] = [
    {
        "text": TRICKY,
        "count": 2**62,
        "ratio": 0.1 + 0.2,
        "flag": True,
        "price-usd": 1e-7,
        "1st": "=1+1",
        "unit price": "  padded  ",
        "meta": {"k": "true", "extra": 1},
        "any": 5,
        "zz": {"x": [1]},
    },
    {"text": "nul\x00 bell\x07 vt\x0b", "1st": "#N/A", "any": "2016-01-07", "meta": {}},
    {"text": "", "count": -1, "ratio": None, "1st": "null", "unit price": "1.0"},
]
ENVELOPES = [{"record_id": f"r{n}", "sequence": n, "payload": p} for n, p in enumerate(PAYLOADS)]
DECLARED = [
    "text",
    "count",
    "ratio",
    "flag",
    "price-usd",
    "1st",
    "unit price",
    "meta",
    "any",
]
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def export(export_format: str) -> bytes:
    out = io.BytesIO()
    export_records(ENVELOPES, export_format, "none", SCHEMA, out)
    return out.getvalue()


def nested(n: int) -> dict[str, Any]:
    """What a structured format must give back for PAYLOADS[n]."""
    payload = PAYLOADS[n]
    record: dict[str, Any] = {"record_id": f"r{n}", "sequence": n}
    record.update({key: payload.get(key) for key in DECLARED})
    if isinstance(payload.get("meta"), dict):
        record["meta"] = {"k": payload["meta"].get("k"), **payload["meta"]}
    record.update({k: v for k, v in payload.items() if k not in DECLARED})
    return record


@pytest.mark.parametrize("export_format", ["json", "jsonl", "yaml"])
def test_structured_text_formats_keep_every_value_and_undeclared_key(export_format: str) -> None:
    data = export(export_format)

    if export_format == "json":
        records = json.loads(data)
    elif export_format == "jsonl":
        records = [json.loads(line) for line in data.decode().split("\n") if line]
    else:
        records = yaml.safe_load(data)

    assert records == [nested(n) for n in range(len(PAYLOADS))]
    assert [list(r) for r in records] == [list(nested(n)) for n in range(len(PAYLOADS))]
    assert records[0]["meta"]["k"] == "true" and records[1]["any"] == "2016-01-07"
    assert records[0]["count"] == 2**62 and type(records[0]["ratio"]) is float


def test_csv_quotes_separators_and_line_breaks_and_drops_undeclared_keys() -> None:
    rows = list(csv.reader(io.StringIO(export("csv").decode(), newline="")))

    assert rows[0] == ["record_id", "sequence", *DECLARED[:7], "meta.k", "any"]
    assert rows[1] == [
        "r0",
        "0",
        TRICKY,
        str(2**62),
        "0.30000000000000004",
        "true",
        "1e-07",
        "=1+1",
        "  padded  ",
        "true",
        "5",
    ]
    assert rows[2][2] == "nul\x00 bell\x07 vt\x0b"
    assert rows[2][3:5] == ["", ""]  # missing optional fields are empty
    # A column of no single type holds scalars as they are, objects and arrays as JSON.
    assert rows[2][-1] == "2016-01-07"
    assert rows[2][-2] == ""


def test_xml_escapes_text_replaces_what_xml_cannot_hold_and_keeps_original_names() -> None:
    data = export("xml")

    records = list(ET.fromstring(data))

    first = {child.get("key", child.tag): child for child in records[0]}
    assert first["text"].text == TRICKY  # the CR survives as &#13;
    assert first["1st"].tag == "_1st" and first["unit price"].tag == "unit_price"
    assert first["unit price"].text == "  padded  "
    assert first["count"].text == str(2**62)
    undeclared = first["zz"].find("x")
    assert undeclared is not None and [e.text for e in undeclared] == ["1"]
    assert first["meta"].find("extra") is not None
    second = {child.get("key", child.tag): child for child in records[1]}
    assert second["text"].text == "nul\ufffd bell\ufffd vt\ufffd"
    assert second["count"].get(XSI_NIL) == "true"  # missing: null, not an empty string
    third = {child.get("key", child.tag): child for child in records[2]}
    assert third["text"].text is None and third["text"].get(XSI_NIL) is None  # empty string


def test_xlsx_never_turns_scraped_text_into_formulas_or_errors() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(export("xlsx")))
    sheet = workbook["records"]
    header = [cell.value for cell in sheet[1]]
    first = {h: cell for h, cell in zip(header, sheet[2], strict=True)}
    second = {h: cell for h, cell in zip(header, sheet[3], strict=True)}

    assert first["1st"].value == "=1+1" and first["1st"].data_type == "s"
    assert second["1st"].value == "#N/A" and second["1st"].data_type == "s"
    assert first["text"].value == TRICKY
    assert second["text"].value == "nul\ufffd bell\ufffd vt\ufffd"
    assert first["count"].value == pytest.approx(2**62)  # Excel holds doubles
    assert first["flag"].value is True and second["flag"].value is None
    assert "zz" not in header and "meta.extra" not in header


@pytest.mark.parametrize("export_format", ["avro", "parquet"])
def test_typed_formats_sanitise_names_and_keep_undeclared_keys_as_json(
    export_format: str,
) -> None:
    data = io.BytesIO(export(export_format))
    if export_format == "avro":
        records = list(fastavro.reader(data))
    else:
        records = pq.read_table(data).to_pylist()

    first = records[0]
    assert list(first) == [
        "record_id",
        "sequence",
        "text",
        "count",
        "ratio",
        "flag",
        "price_usd",
        "_1st",
        "unit_price",
        "meta",
        "any",
        "_additional",
    ]
    assert first["text"] == TRICKY and first["count"] == 2**62 and first["price_usd"] == 1e-7
    assert first["meta"] == {"k": "true", "_additional": '{"extra":1}'}
    assert first["any"] == "5"  # a value of no single type is JSON text
    assert json.loads(first["_additional"]) == {"zz": {"x": [1]}}
    assert records[1]["count"] is None and records[1]["any"] == '"2016-01-07"'
    assert records[2]["ratio"] is None and records[2]["meta"] is None


def test_parquet_keeps_the_json_name_of_a_sanitised_column() -> None:
    schema = pq.read_schema(io.BytesIO(export("parquet")))

    assert schema.field("price_usd").metadata == {b"json_name": b"price-usd"}


@pytest.mark.parametrize("export_format", ["avro", "parquet"])
def test_a_record_that_does_not_fit_a_typed_format_names_itself(export_format: str) -> None:
    bad = [{"record_id": "bad-1", "sequence": 1, "payload": {"text": "x", "count": "many"}}]

    with pytest.raises(ExportError, match=r"bad-1.*count"):
        export_records(bad, export_format, "none", SCHEMA, io.BytesIO())
