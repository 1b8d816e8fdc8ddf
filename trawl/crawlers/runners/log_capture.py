"""Capturing an attempt's output into `logs.jsonl`, the run's log before it is shipped.

Each captured line gets a seq (its order in the attempt), a time, its stream and a level. A
stdout line that is a JSON object with `level` and `message` is the SDK's log format and
keeps its level (stream "log"); other stdout lines are INFO, stderr lines ERROR. The record
forwarder's notices (rejected records, outages) are captured the same way (stream
"forwarder"), so users read them beside the crawler's own lines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, get_args

from trawl.crawlers.runners.attempt import utc_now

Level = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
Stream = Literal["stdout", "stderr", "log", "forwarder"]
LEVELS: tuple[Level, ...] = get_args(Level)
_ALIASES: dict[str, Level] = {"WARN": "WARNING", "CRITICAL": "ERROR", "FATAL": "ERROR"}
# One log line is capped so a crawler printing a huge blob cannot bloat the log store.
MAX_LINE_BYTES = 16 * 1024


class LogLine(TypedDict):
    seq: int
    at: str
    stream: Stream
    level: Level
    message: str


@dataclass(frozen=True, slots=True)
class Structured:
    """A JSON log line: its level, its message, and the whole object (extra fields)."""

    level: Level
    message: str
    fields: dict[str, Any] = field(default_factory=dict)


def as_level(value: object) -> Level | None:
    name = str(value).strip().upper()
    if name in LEVELS:
        return name
    return _ALIASES.get(name)


def structured(text: str) -> Structured | None:
    """The line as an SDK log entry, or None when it is plain text."""
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or "message" not in data:
        return None
    level = as_level(data.get("level"))
    if level is None:
        return None
    return Structured(level=level, message=str(data["message"]), fields=data)


# A captured line is at most this long (16 KiB of text, JSON-escaped), so the last whole line
# of a log is in its last this many bytes.
_TAIL_BYTES = 1024 * 1024


class LogSink:
    """Appends captured lines to logs.jsonl; one event loop writes, so seq needs no lock."""

    def __init__(self, path: Path, *, after_seq: int = 0) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._seq = after_seq

    @classmethod
    def resume(cls, path: Path) -> LogSink:
        """Goes on with a log whose writer died: seq continues after its last whole line, and a
        torn last line is ended first (it stays one unreadable line, skipped when shipped)."""
        last_seq, torn = _last_seq(path)
        sink = cls(path, after_seq=last_seq)
        if torn:
            sink._file.write("\n")
            sink._file.flush()
        return sink

    def write(self, stream: Stream, message: str, level: Level) -> None:
        if self._file.closed:
            return
        self._seq += 1
        line: LogLine = {
            "seq": self._seq,
            "at": utc_now(),
            "stream": stream,
            "level": level,
            "message": message,
        }
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _last_seq(path: Path) -> tuple[int, bool]:
    """(seq of the log's last whole line, whether the file ends in a torn line)."""
    try:
        with path.open("rb") as file:
            file.seek(max(0, file.seek(0, 2) - _TAIL_BYTES))
            data = file.read()
    except FileNotFoundError:
        return 0, False
    torn = bool(data) and not data.endswith(b"\n")
    for raw in reversed(data.split(b"\n")):
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and isinstance(line.get("seq"), int):
            return line["seq"], torn
    return 0, torn


def _decode(raw: bytes) -> str:
    return raw[:MAX_LINE_BYTES].decode("utf-8", errors="replace").rstrip("\r")


async def pump(reader: asyncio.StreamReader, on_line: Callable[[str], None]) -> None:
    """Line-splits one pipe by hand: StreamReader.readline fails on over-long lines."""
    pending = b""
    while chunk := await reader.read(65536):
        *lines, pending = (pending + chunk).split(b"\n")
        if len(pending) > MAX_LINE_BYTES:
            lines.append(pending)
            pending = b""
        for raw in lines:
            on_line(_decode(raw))
    if pending:
        on_line(_decode(pending))
