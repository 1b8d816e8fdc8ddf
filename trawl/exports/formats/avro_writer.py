"""Avro: an object container file of the export's typed schema (trawl.exports.typed_schema),
deflate blocks of about 16 kB each, so memory holds one block at most.

The sync marker, random in fastavro by default, is derived from the schema: the same records
give the same bytes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, BinaryIO

import fastavro
from fastavro.write import Writer

from trawl.exports.columns import ColumnPlan
from trawl.exports.typed_schema import TypedSchema

CODEC = "deflate"
_SYNC_MARKER_BYTES = 16


def sync_marker(avro_schema: Mapping[str, Any]) -> bytes:
    text = json.dumps(avro_schema, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(b"trawl.exports:" + text.encode()).digest()[:_SYNC_MARKER_BYTES]


class AvroWriter:
    def __init__(
        self, stream: BinaryIO, plan: ColumnPlan, record_schema: Mapping[str, Any]
    ) -> None:
        self._typed = TypedSchema(record_schema, plan)
        self._writer = Writer(
            stream,
            fastavro.parse_schema(self._typed.avro),
            codec=CODEC,
            sync_marker=sync_marker(self._typed.avro),
        )

    def write(self, envelope: Mapping[str, Any]) -> None:
        self._writer.write(self._typed.convert(envelope))

    def close(self) -> None:
        self._writer.flush()
