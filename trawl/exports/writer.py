"""The interface every export format implements, and the choice of one by name.

A writer is pushed one enveloped record at a time and writes as it goes, holding at most a
bounded batch (an Avro block, a Parquet row group), so an export's memory does not grow with
the dataset. `close` finishes the format (closing bracket, footer) but leaves the stream
open: the compression layer and the caller own it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, BinaryIO, Protocol

from trawl.exports.columns import ColumnPlan


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"
    XLSX = "xlsx"
    XML = "xml"
    YAML = "yaml"
    AVRO = "avro"
    PARQUET = "parquet"


class ExportError(ValueError):
    """A record that the export's format cannot hold (say, a value of another type than
    its schema declares, in a typed format)."""


class ExportWriter(Protocol):
    def write(self, envelope: Mapping[str, Any]) -> None:
        """Writes one record: the envelope fields and `payload`, as stored."""

    def close(self) -> None:
        """Writes what ends the format; the stream stays open."""


WriterFactory = Callable[[BinaryIO, ColumnPlan, Mapping[str, Any]], ExportWriter]
