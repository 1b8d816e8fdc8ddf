"""XML: `<records>` holding one `<record>` per record, written as it comes.

Each field is an element named after its key; nested objects are nested elements, arrays
repeat an `<item>` element, null is an empty element with `xsi:nil="true"` (so it differs
from an empty string). Booleans and numbers are spelled as in JSON. Records are nested as
declared, keys in schema order, undeclared keys kept.

A key that is not an XML name is sanitised (characters outside [A-Za-z0-9_.-] become `_`,
a leading digit, dot or hyphen gets a `_` before it) and keeps its original spelling in a
`key` attribute. Characters XML 1.0 cannot carry (most C0 controls, lone surrogates,
U+FFFE/U+FFFF) become U+FFFD; a carriage return is written as `&#13;`, since a parser
would otherwise turn CR LF into LF."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, BinaryIO

from trawl.exports.columns import ColumnPlan, nest
from trawl.exports.formats.csv_writer import cell_text

XSI = "http://www.w3.org/2001/XMLSchema-instance"
ROOT = "records"
RECORD = "record"
ITEM = "item"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.\-]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;"}
    | {"\t": "&#9;"}
)


def xml_text(text: str) -> str:
    """`text` as XML character data."""
    return _NOT_XML.sub("\ufffd", text).translate(_ESCAPES)


def element_name(key: str) -> str:
    """`key` as an XML element name."""
    name = _NOT_NAME.sub("_", key)
    return name if name and (name[0].isalpha() or name[0] == "_") else f"_{name}"


def _open_tag(key: str, attributes: str = "", end: str = ">") -> str:
    name = element_name(key)
    if name != key:
        original = _NOT_XML.sub("\ufffd", key).translate(_ATTR_ESCAPES)
        attributes += f' key="{original}"'
    return f"<{name}{attributes}{end}"


def _element(key: str, value: Any, out: list[str]) -> None:
    name = element_name(key)
    if value is None:
        out.append(_open_tag(key, ' xsi:nil="true"', "/>"))
    elif isinstance(value, Mapping):
        out.append(_open_tag(key))
        for child_key, child in value.items():
            _element(str(child_key), child, out)
        out.append(f"</{name}>")
    elif isinstance(value, list):
        out.append(_open_tag(key))
        for item in value:
            _element(ITEM, item, out)
        out.append(f"</{name}>")
    else:
        out.append(f"{_open_tag(key)}{xml_text(cell_text(value))}</{name}>")


class XmlWriter:
    def __init__(
        self, stream: BinaryIO, plan: ColumnPlan, record_schema: Mapping[str, Any]
    ) -> None:
        self._stream = stream
        self._plan = plan
        prolog = f'<?xml version="1.0" encoding="UTF-8"?>\n<{ROOT} xmlns:xsi="{XSI}">\n'
        stream.write(prolog.encode())

    def write(self, envelope: Mapping[str, Any]) -> None:
        out: list[str] = []
        _element(RECORD, nest(envelope, self._plan), out)
        out.append("\n")
        self._stream.write("".join(out).encode())

    def close(self) -> None:
        self._stream.write(f"</{ROOT}>\n".encode())
