"""CSV: RFC 4180 as Python's `excel` dialect writes it (comma, CRLF, fields quoted only when
they hold a comma, quote or line break), UTF-8 without a byte-order mark, a header row of
the plan's columns. Null is an empty field; booleans are `true`/`false` and numbers are
spelled as in JSON, so a value reads the same here as in the JSON export; arrays and
undeclared-shape values are JSON text. Values are written as scraped: nothing is prefixed to
defuse spreadsheet formulas, since that would change the data (XLSX marks them as text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, BinaryIO

from trawl.exports.columns import ColumnPlan, flatten


def cell_text(value: Any) -> str:
    """A flattened value as the text of a field in an untyped format."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)  # str of a float is its shortest round-tripping repr, as in JSON


class CsvWriter:
    def __init__(
        self, stream: BinaryIO, plan: ColumnPlan, record_schema: Mapping[str, Any]
    ) -> None:
        # newline="": the csv module writes its own CRLF and must not have it translated.
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        self._csv = csv.writer(self._text, dialect="excel")
        self._plan = plan
        self._csv.writerow(plan.header)

    def write(self, envelope: Mapping[str, Any]) -> None:
        self._csv.writerow([cell_text(v) for v in flatten(envelope, self._plan)])

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # the stream is the caller's, not the wrapper's
