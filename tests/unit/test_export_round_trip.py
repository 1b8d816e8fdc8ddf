"""Every export format round-trips the fixture shop's 990 products, read back with the
format's own library, in every compression: values equal, types kept where the format has
them, columns in schema order, nested objects kept or flattened as the format calls for;
and the same records always give the same bytes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from typing import Any

import fastavro
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from trawl.demo.catalog import expected_products
from trawl.demo.report_fields import PRODUCT_SCHEMA
from trawl.exports import Compression, ExportFormat, export_records
from trawl.exports.columns import plan_columns
from trawl.exports.formats.parquet_writer import ParquetWriter

HEADER = [
    "record_id",
    "sequence",
    "id",
    "name",
    "sku",
    "price.amount",
    "price.currency",
    "category",
    "brand",
    "rating",
    "in_stock",
    "tags",
    "release_date",
    "description",
]
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
PRODUCTS = expected_products()
ENVELOPES = [
    {
        "record_id": f"rec-{product['id']:05d}",
        "organization_id": "org",
        "project_id": "project",
        "report_id": "report",
        "run_id": "run",
        "attempt": 1,
        "sequence": n,
        "emitted_at": "2024-05-01T00:00:00Z",
        "payload": product,
    }
    for n, product in enumerate(PRODUCTS, start=1)
]
# What every structured format must give back: envelope columns, then the payload.
EXPECTED = [
    {"record_id": e["record_id"], "sequence": e["sequence"], **e["payload"]} for e in ENVELOPES
]


def export(
    export_format: str,
    compression: str,
    envelopes: list[dict[str, Any]] = ENVELOPES,
    schema: Mapping[str, Any] = PRODUCT_SCHEMA,
) -> bytes:
    out = io.BytesIO()
    stats = export_records(envelopes, export_format, compression, schema, out)
    assert stats.records == len(envelopes)
    assert stats.bytes == len(out.getvalue())
    return out.getvalue()


def unpack(data: bytes, export_format: str, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.decompress(data)
    if compression == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.namelist() == [f"records.{export_format}"]
            assert archive.testzip() is None
            return archive.read(f"records.{export_format}")
    return data


def assert_same(actual: Any, expected: Any, path: str = "$") -> None:
    """Equal, with the same types all the way down (1 == 1.0 == True in Python) and, for
    objects, the same key order."""
    assert type(actual) is type(expected), f"{path}: {actual!r} is not {expected!r}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), path
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, path


def without_additional(value: Any) -> Any:
    """A typed (Avro, Parquet) record without the empty `_additional` slots of open objects."""
    if isinstance(value, dict):
        return {
            k: without_additional(v)
            for k, v in value.items()
            if not (k == "_additional" and v is None)
        }
    if isinstance(value, list):
        return [without_additional(v) for v in value]
    return value


def flat(record: Mapping[str, Any]) -> list[Any]:
    """An expected record as a tabular row, arrays still lists."""
    price = record["price"]
    rest = [record[k] for k in HEADER[7:]]
    return [*[record[k] for k in HEADER[:5]], price["amount"], price["currency"], *rest]


# -- readers: the format's own library, typed back by the schema where the format is not ---


def read_csv(data: bytes) -> tuple[list[str], list[list[Any]]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    typed = {"sequence": int, "id": int, "price.amount": float, "rating": float}

    def cell(name: str, text: str) -> Any:
        if name == "in_stock":
            return {"true": True, "false": False}[text]
        if name == "tags":
            return json.loads(text)
        return typed.get(name, str)(text)

    return rows[0], [[cell(n, t) for n, t in zip(rows[0], row, strict=True)] for row in rows[1:]]


def read_xml(data: bytes) -> list[dict[str, Any]]:
    root = ET.fromstring(data)
    assert root.tag == "records"
    numbers = {"sequence": int, "id": int, "amount": float, "rating": float}

    def value(element: ET.Element) -> Any:
        if element.get(XSI_NIL) == "true":
            return None
        if element.tag == "price":
            return {child.tag: value(child) for child in element}
        if element.tag == "tags":
            return [item.text or "" for item in element]
        text = element.text or ""
        if element.tag == "in_stock":
            return text == "true"
        return numbers.get(element.tag, str)(text)

    return [{child.tag: value(child) for child in record} for record in root]


def read_xlsx(data: bytes) -> tuple[list[Any], list[list[Any]]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert workbook.sheetnames == ["records"]
    rows = [list(row) for row in workbook["records"].iter_rows(values_only=True)]
    workbook.close()
    return rows[0], rows[1:]


def read_structured(data: bytes, export_format: str) -> list[Any]:
    if export_format == "json":
        parsed = json.loads(data)
        assert isinstance(parsed, list)
        return parsed
    if export_format == "jsonl":
        return [json.loads(line) for line in data.decode().splitlines()]
    if export_format == "yaml":
        parsed = yaml.safe_load(data)
        assert isinstance(parsed, list)
        return parsed
    if export_format == "xml":
        return read_xml(data)
    if export_format == "avro":
        return [without_additional(r) for r in fastavro.reader(io.BytesIO(data))]
    assert export_format == "parquet"
    return [without_additional(r) for r in pq.read_table(io.BytesIO(data)).to_pylist()]


COMPRESSIONS = [c.value for c in Compression]


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("export_format", ["json", "jsonl", "yaml", "xml", "avro", "parquet"])
def test_structured_formats_keep_records_nested_typed_and_in_schema_order(
    export_format: str, compression: str
) -> None:
    data = unpack(export(export_format, compression), export_format, compression)

    records = read_structured(data, export_format)

    assert len(records) == len(EXPECTED)
    for actual, expected in zip(records, EXPECTED, strict=True):
        assert_same(actual, expected)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_csv_flattens_nested_objects_into_dotted_columns(compression: str) -> None:
    header, rows = read_csv(unpack(export("csv", compression), "csv", compression))

    assert header == HEADER
    assert rows == [flat(r) for r in EXPECTED]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_xlsx_keeps_numbers_and_booleans_as_cells_of_their_type(compression: str) -> None:
    header, rows = read_xlsx(unpack(export("xlsx", compression), "xlsx", compression))

    assert header == HEADER
    for row, expected in zip(rows, EXPECTED, strict=True):
        want = flat(expected)
        want[11] = json.dumps(want[11], separators=(",", ":"))
        assert row == want
        for got, wanted in zip(row, want, strict=True):
            # Excel holds doubles: a whole float such as a rating of 2.0 reads back as 2.
            whole_float = isinstance(wanted, float) and wanted.is_integer()
            assert type(got) is type(wanted) or (whole_float and type(got) is int)
    assert len(rows) == len(EXPECTED)


def test_parquet_and_avro_type_columns_from_the_schema() -> None:
    table = pq.read_table(io.BytesIO(export("parquet", "none")))
    avro = fastavro.reader(io.BytesIO(export("avro", "none")))

    assert table.schema.names == [*HEADER[:5], "price", *HEADER[7:]]
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("rating").type == pa.float64()
    assert table.schema.field("in_stock").type == pa.bool_()
    assert table.schema.field("tags").type == pa.list_(pa.field("element", pa.string(), False))
    price = table.schema.field("price").type
    assert [price.field(i).name for i in range(price.num_fields)] == [
        "amount",
        "currency",
        "_additional",
    ]
    assert not table.schema.field("id").nullable  # required
    assert table.schema.field("brand").nullable  # optional
    assert table.num_rows == 990 and pq.ParquetFile(io.BytesIO(export("parquet", "none")))
    fields = [f["name"] for f in avro.writer_schema["fields"]]  # type: ignore[index]
    assert fields == table.schema.names


@pytest.mark.parametrize("export_format", [f.value for f in ExportFormat])
def test_an_empty_dataset_is_a_valid_empty_file(export_format: str) -> None:
    data = export(export_format, "none", envelopes=[])

    if export_format == "csv":
        assert read_csv(data) == (HEADER, [])
    elif export_format == "xlsx":
        assert read_xlsx(data) == (HEADER, [])
    else:
        assert read_structured(data, export_format) == []


def test_the_same_records_give_the_same_bytes_in_every_format_and_compression() -> None:
    combinations = [(f.value, c) for f in ExportFormat for c in COMPRESSIONS]
    first = {combo: export(*combo) for combo in combinations}
    time.sleep(1.1)  # zip entries and workbook properties would carry the clock's second

    second = {combo: export(*combo) for combo in combinations}

    assert [c for c in combinations if first[c] != second[c]] == []


class _Pipe(io.RawIOBase):
    """A destination that can neither seek nor tell, as a network upload."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.data += bytes(b)
        return len(bytes(b))


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("export_format", [f.value for f in ExportFormat])
def test_a_pipe_receives_the_bytes_a_seekable_file_does(
    export_format: str, compression: str, tmp_path: Any
) -> None:
    pipe = _Pipe()
    export_records(ENVELOPES[:50], export_format, compression, PRODUCT_SCHEMA, pipe)  # type: ignore[arg-type]
    path = tmp_path / "export"
    with path.open("w+b") as seekable:
        export_records(ENVELOPES[:50], export_format, compression, PRODUCT_SCHEMA, seekable)

    assert bytes(pipe.data) == path.read_bytes()


def test_parquet_writes_a_row_group_per_batch_and_reads_back_whole() -> None:
    out = io.BytesIO()
    writer = ParquetWriter(out, plan_columns(PRODUCT_SCHEMA), PRODUCT_SCHEMA, row_group_records=100)
    for envelope in ENVELOPES:
        writer.write(envelope)
    writer.close()

    assert pq.ParquetFile(io.BytesIO(out.getvalue())).metadata.num_row_groups == 10
    records = read_structured(out.getvalue(), "parquet")
    assert records == EXPECTED
