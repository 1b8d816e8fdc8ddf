"""`forwarder.json`: the forwarder's counters and where to resume, in one small file in the
attempt directory, rewritten atomically after every change that must survive a kill.

Resume state: for the chunk being shipped, the line indexes already settled (acknowledged by
Kinesis, or rejected as oversize); for logs.jsonl, the byte offset of the first line not yet
in DynamoDB. A chunk is recognised by name, size and inode, so a later chunk that reuses a
deleted one's name never inherits its progress."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trawl.crawlers.forwarder.layout import PROGRESS_FILE

COUNTERS = (
    "records_shipped",
    "chunks_shipped",
    "retries",
    "call_failures",
    "rejected_oversize",
    "skipped_torn",
    "log_lines_shipped",
    "starts",
)


def read_progress(attempt_dir: Path) -> dict[str, Any]:
    """The last written progress; empty when there is none (or it is unreadable)."""
    try:
        data = json.loads((attempt_dir / PROGRESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _ranges(indexes: Iterable[int]) -> list[list[int]]:
    """Sorted [start, end) runs: the settled set of a chunk stays a few numbers long."""
    runs: list[list[int]] = []
    for index in sorted(set(indexes)):
        if runs and runs[-1][1] == index:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    return runs


def _expand(runs: Any) -> set[int]:
    if not isinstance(runs, list):
        return set()
    return {i for start, end in runs for i in range(int(start), int(end))}


def _identity(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"name": path.name, "size": stat.st_size, "inode": stat.st_ino}


class Progress:
    """Shared by the record and log threads; every method saves before it returns."""

    def __init__(self, attempt_dir: Path) -> None:
        self._path = attempt_dir / PROGRESS_FILE
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {key: 0 for key in COUNTERS}
        self._data.update(read_progress(attempt_dir))
        self._settled: set[int] = _expand((self._data.get("chunk") or {}).get("settled"))

    def add(self, **deltas: int) -> None:
        with self._lock:
            for key, delta in deltas.items():
                self._data[key] = int(self._data.get(key, 0)) + delta
            self._save()

    def update(self, **values: Any) -> None:
        with self._lock:
            self._data.update(values)
            self._save()

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._data.get(key, default)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._data))  # type: ignore[no-any-return]

    def open_chunk(self, path: Path) -> tuple[set[int], bool]:
        """(indexes already settled, whether this chunk was seen before) for `path`; starts
        a fresh record when the saved one is for another chunk."""
        identity = _identity(path)
        with self._lock:
            saved = self._data.get("chunk") or {}
            if {key: saved.get(key) for key in identity} == identity:
                return set(self._settled), True
            self._settled = set()
            self._data["chunk"] = {**identity, "settled": []}
            self._save()
            return set(), False

    def settle(self, indexes: Iterable[int], **deltas: int) -> None:
        """Marks records of the current chunk as done with and counts them, in one write."""
        with self._lock:
            self._settled.update(indexes)
            self._data["chunk"]["settled"] = _ranges(self._settled)
            for key, delta in deltas.items():
                self._data[key] = int(self._data.get(key, 0)) + delta
            self._save()

    def logs_shipped(self, offset: int, lines: int) -> None:
        with self._lock:
            self._data["logs_offset"] = offset
            self._data["log_lines_shipped"] = int(self._data.get("log_lines_shipped", 0)) + lines
            self._save()

    def close_chunk(self) -> None:
        """After the chunk file is deleted."""
        with self._lock:
            self._settled = set()
            self._data["chunk"] = None
            self._data["chunks_shipped"] = int(self._data.get("chunks_shipped", 0)) + 1
            self._save()

    def _save(self) -> None:
        tmp = self._path.with_name(f".{self._path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self._data), encoding="utf-8")
        os.replace(tmp, self._path)
