"""`export_records`: a run's records, in one of eight formats, optionally compressed, onto a
binary stream — the one entry point deliveries and downloads share, so a delivered file is
byte for byte what an export produces for the same records and options.

Records are envelopes as the dataset stores them (`record_id`, `sequence`, …, `payload`;
`envelope_of` turns a MongoDB document into one). The output depends only on the records,
their order, the schema and the options: no clock, no random sync markers, no dependence on
whether the stream can seek (see trawl.exports.sink)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from trawl.exports.formats import open_writer
from trawl.exports.sink import Compression, CountingSink, compressed
from trawl.exports.writer import ExportFormat
from trawl.stream.sinks.mongo import ENVELOPE_FIELDS, read_payload

_CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSON: "application/json",
    ExportFormat.JSONL: "application/jsonl",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.XML: "application/xml",
    ExportFormat.YAML: "application/yaml",
    ExportFormat.AVRO: "application/avro",
    ExportFormat.PARQUET: "application/vnd.apache.parquet",
}


@dataclass(frozen=True, slots=True)
class ExportStats:
    records: int
    bytes: int  # written to the stream, after compression


def export_records(
    records: Iterable[Mapping[str, Any]],
    export_format: ExportFormat | str,
    compression: Compression | str,
    record_schema: Mapping[str, Any],
    out: BinaryIO,
    entry_name: str | None = None,
) -> ExportStats:
    """Writes `records` to `out` (left open) and says how many records and bytes.
    `entry_name` names the file inside a zip or gzip (default `records.<ext>`). An
    ExportError (a record that does not fit a typed format) leaves `out` incomplete."""
    export_format, compression = ExportFormat(export_format), Compression(compression)
    entry_name = entry_name or f"records{file_extension(export_format, Compression.NONE)}"
    sink = CountingSink(out)
    count = 0
    with compressed(sink, compression, entry_name) as stream:
        writer = open_writer(export_format, stream, record_schema)
        for envelope in records:
            writer.write(envelope)
            count += 1
        writer.close()
    sink.flush()
    return ExportStats(records=count, bytes=sink.written)


def envelope_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record document as the envelope an export takes (payload keys unescaped)."""
    envelope = {field: document.get(field) for field in ENVELOPE_FIELDS}
    envelope["payload"] = read_payload(document)
    return envelope


def content_type(export_format: ExportFormat | str, compression: Compression | str) -> str:
    """The media type of the exported object (of the archive when compressed)."""
    compression = Compression(compression)
    if compression is Compression.GZIP:
        return "application/gzip"
    if compression is Compression.ZIP:
        return "application/zip"
    return _CONTENT_TYPES[ExportFormat(export_format)]


def file_extension(export_format: ExportFormat | str, compression: Compression | str) -> str:
    """`.csv`, `.csv.gz`, `.csv.zip`…"""
    suffix = {Compression.NONE: "", Compression.GZIP: ".gz", Compression.ZIP: ".zip"}
    return f".{ExportFormat(export_format).value}{suffix[Compression(compression)]}"
