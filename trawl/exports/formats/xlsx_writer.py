"""XLSX: one sheet, `records`, with a header row of the plan's columns, written with
openpyxl's write-only workbook (rows go to a temporary file as they come, strings inline
rather than in a shared-strings table), so memory stays flat whatever the row count.

Cells keep their types: numbers are numbers (Excel holds doubles: 15-16 significant digits,
and a whole float like 2.0 reads back as 2), booleans booleans, null an empty cell, arrays
JSON text. A string that Excel would take for a formula (`=…`) or an error (`#N/A`) is
marked as plain text, so scraped content never computes; characters XML cannot carry become
U+FFFD, and openpyxl cuts a string at Excel's 32,767-character limit.

openpyxl stamps the save time in docProps/core.xml and in every zip entry's date; the file
is repacked with fixed dates (entries in openpyxl's order), so the same records give the
same bytes. The package is assembled in a temporary directory and then copied to the
stream, since a zip written to a seekable file is what Excel expects (no data
descriptors)."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.xml.constants import ARC_CORE
from openpyxl.xml.functions import tostring

from trawl.exports.columns import ColumnPlan, flatten
from trawl.exports.sink import zip_entry

SHEET_TITLE = "records"
FIXED_TIME = datetime(2000, 1, 1)  # naive, as openpyxl stores UTC times
_COPY_CHUNK = 1 << 20


class XlsxWriter:
    def __init__(
        self, stream: BinaryIO, plan: ColumnPlan, record_schema: Mapping[str, Any]
    ) -> None:
        self._stream = stream
        self._plan = plan
        self._workbook = Workbook(write_only=True)
        self._sheet = self._workbook.create_sheet(SHEET_TITLE)
        self._sheet.append([self._cell(name) for name in plan.header])

    def write(self, envelope: Mapping[str, Any]) -> None:
        self._sheet.append([self._cell(v) for v in flatten(envelope, self._plan)])

    def _cell(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if not (value.startswith("=") or value in ERROR_CODES):
            return value
        cell = WriteOnlyCell(self._sheet, value)
        cell.data_type = "s"
        return cell

    def close(self) -> None:
        with tempfile.TemporaryDirectory(prefix="trawl-xlsx-") as directory:
            saved, fixed = Path(directory, "saved.xlsx"), Path(directory, "fixed.xlsx")
            self._workbook.save(saved)
            properties = self._workbook.properties
            properties.created = properties.modified = FIXED_TIME
            _repack(saved, fixed, core_xml=tostring(properties.to_tree()))
            with fixed.open("rb") as package:
                shutil.copyfileobj(package, self._stream, _COPY_CHUNK)


def _repack(source: Path, target: Path, core_xml: bytes) -> None:
    """`source` with fixed entry dates and the given document properties."""
    with (
        zipfile.ZipFile(source) as src,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zip_entry(info.filename)
            if info.filename == ARC_CORE:
                dst.writestr(entry, core_xml)
                continue
            entry.file_size = info.file_size  # lets zipfile choose ZIP64 only when needed
            with src.open(info) as reader, dst.open(entry, "w") as writer:
                shutil.copyfileobj(reader, writer, _COPY_CHUNK)
