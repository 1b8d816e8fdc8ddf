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


class LogSink:
    """Appends captured lines to logs.jsonl; one event loop writes, so seq needs no lock."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._seq = 0

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
