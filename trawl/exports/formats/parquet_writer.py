"""Parquet: the export's typed schema (trawl.exports.typed_schema) as Arrow types — nested
objects stay structs, arrays lists — written in row groups of `ROW_GROUP_RECORDS`, so
memory holds one row group at most. Parquet files hold no clock: the same records give the
same bytes (the footer names the writing library's version)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from trawl.exports.columns import ColumnPlan
from trawl.exports.typed_schema import TypedSchema

ROW_GROUP_RECORDS = 10_000
COMPRESSION = "zstd"


class ParquetWriter:
    def __init__(
        self,
        stream: BinaryIO,
        plan: ColumnPlan,
        record_schema: Mapping[str, Any],
        row_group_records: int = ROW_GROUP_RECORDS,
    ) -> None:
        self._typed = TypedSchema(record_schema, plan)
        self._schema = self._typed.arrow()
        self._writer = pq.ParquetWriter(stream, self._schema, compression=COMPRESSION)
        self._rows: list[dict[str, Any]] = []
        self._row_group_records = row_group_records

    def write(self, envelope: Mapping[str, Any]) -> None:
        self._rows.append(self._typed.convert(envelope))
        if len(self._rows) >= self._row_group_records:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            table = pa.Table.from_pylist(self._rows, schema=self._schema)
            self._writer.write_table(table, row_group_size=len(self._rows))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()
