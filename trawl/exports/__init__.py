"""Dataset exports: a run's records as CSV, JSON, JSON Lines, XLSX, XML, YAML, Avro or
Parquet, optionally gzip- or zip-compressed, streamed in constant memory and
byte-for-byte reproducible. `export_records` is the entry point; `columns` says how a
record schema becomes columns and nested records."""

from trawl.exports.export import (
    ExportStats,
    content_type,
    envelope_of,
    export_records,
    file_extension,
)
from trawl.exports.sink import Compression
from trawl.exports.writer import ExportError, ExportFormat, ExportWriter

__all__ = [
    "Compression",
    "ExportError",
    "ExportFormat",
    "ExportStats",
    "ExportWriter",
    "content_type",
    "envelope_of",
    "export_records",
    "file_extension",
]
