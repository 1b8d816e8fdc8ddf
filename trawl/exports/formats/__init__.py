"""One module per export format; `open_writer` picks one by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from trawl.exports.columns import plan_columns
from trawl.exports.formats.avro_writer import AvroWriter
from trawl.exports.formats.csv_writer import CsvWriter
from trawl.exports.formats.json_writer import JsonArrayWriter, JsonLinesWriter
from trawl.exports.formats.parquet_writer import ParquetWriter
from trawl.exports.formats.xlsx_writer import XlsxWriter
from trawl.exports.formats.xml_writer import XmlWriter
from trawl.exports.formats.yaml_writer import YamlWriter
from trawl.exports.writer import ExportFormat, ExportWriter, WriterFactory

FACTORIES: dict[ExportFormat, WriterFactory] = {
    ExportFormat.CSV: CsvWriter,
    ExportFormat.JSON: JsonArrayWriter,
    ExportFormat.JSONL: JsonLinesWriter,
    ExportFormat.XLSX: XlsxWriter,
    ExportFormat.XML: XmlWriter,
    ExportFormat.YAML: YamlWriter,
    ExportFormat.AVRO: AvroWriter,
    ExportFormat.PARQUET: ParquetWriter,
}


def open_writer(
    export_format: ExportFormat | str, stream: BinaryIO, record_schema: Mapping[str, Any]
) -> ExportWriter:
    """A writer of `export_format` onto `stream`, for records of `record_schema`."""
    factory = FACTORIES[ExportFormat(export_format)]
    return factory(stream, plan_columns(record_schema), record_schema)
