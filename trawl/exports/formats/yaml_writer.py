"""YAML: one sequence of mappings, written a batch of records at a time.

A batch of records is dumped as a block list (`- key: value` lines); lists dumped one after
another form a single valid sequence, so the whole file loads as one list while memory
holds one batch (dumping per batch rather than per record saves the dumper's set-up, most
of the cost for small records). Records are nested as declared, keys in schema order, and
strings that would read as another type (`"true"`, `"2016-01-07"`, `"1.0"`) are quoted by
the dumper, so `yaml.safe_load` gives back the JSON types. No anchors or aliases are
written, even for repeated values: every record reads on its own. An empty export is `[]`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

import yaml

from trawl.exports.columns import ColumnPlan, nest

BATCH_RECORDS = 500
# The C emitter when PyYAML was built with libyaml: the same YAML, several times faster.
_BASE: type[Any] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BASE):  # type: ignore[misc]  # PyYAML ships no types
    def ignore_aliases(self, data: Any) -> bool:
        return True


class YamlWriter:
    def __init__(
        self, stream: BinaryIO, plan: ColumnPlan, record_schema: Mapping[str, Any]
    ) -> None:
        self._stream = stream
        self._plan = plan
        self._batch: list[dict[str, Any]] = []
        self._count = 0

    def write(self, envelope: Mapping[str, Any]) -> None:
        self._batch.append(nest(envelope, self._plan))
        self._count += 1
        if len(self._batch) >= BATCH_RECORDS:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        text = yaml.dump(
            self._batch,
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=2**20,  # no folding of long strings: a value stays on one line
        )
        self._stream.write(text.encode())
        self._batch = []

    def close(self) -> None:
        self._flush()
        if not self._count:
            self._stream.write(b"[]\n")
