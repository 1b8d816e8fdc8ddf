"""JSON (one array) and JSON Lines (one object per line), both UTF-8 with non-ASCII text
kept as is. Records are nested as declared, keys in schema order (see
trawl.exports.columns); numbers, booleans and nulls keep their JSON types.

The array is written incrementally — `[`, records separated by `,\\n`, `]` — so a dataset of
any size streams through with one record in memory."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, BinaryIO

from trawl.exports.columns import ColumnPlan, nest


def record_json(record: Mapping[str, Any]) -> bytes:
    # allow_nan=False: NaN and infinity are not JSON (the stream refuses them before here).
    return json.dumps(record, ensure_ascii=False, allow_nan=False).encode()


class JsonArrayWriter:
    def __init__(
        self, stream: BinaryIO, plan: ColumnPlan, record_schema: Mapping[str, Any]
    ) -> None:
        self._stream = stream
        self._plan = plan
        self._count = 0
        stream.write(b"[")

    def write(self, envelope: Mapping[str, Any]) -> None:
        self._stream.write(b",\n" if self._count else b"\n")
        self._stream.write(record_json(nest(envelope, self._plan)))
        self._count += 1

    def close(self) -> None:
        self._stream.write(b"\n]\n" if self._count else b"]\n")


class JsonLinesWriter:
    def __init__(
        self, stream: BinaryIO, plan: ColumnPlan, record_schema: Mapping[str, Any]
    ) -> None:
        self._stream = stream
        self._plan = plan

    def write(self, envelope: Mapping[str, Any]) -> None:
        self._stream.write(record_json(nest(envelope, self._plan)) + b"\n")

    def close(self) -> None:
        pass
