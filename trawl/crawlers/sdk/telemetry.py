"""What a crawler tells the platform while it runs: counters, log lines and the stats file.

Log lines are one JSON object per line on stdout (`{"level": ..., "message": ...}`), which
the supervisor turns into run log entries with that level. The stats file is rewritten
atomically so the worker never reads half of it."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Protocol, TextIO

Level = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LEVELS: tuple[Level, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")
_ALIASES = {"WARN": "WARNING", "CRITICAL": "ERROR", "FATAL": "ERROR"}


class LogFn(Protocol):
    def __call__(self, level: str, message: str) -> None: ...


@dataclass(slots=True)
class Counters:
    """The run's progress: pages fetched, records written, errors, response bytes.

    `skipped` counts requests not made on purpose (robots.txt); it is extra to the contract."""

    pages: int = 0
    records: int = 0
    errors: int = 0
    bytes: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def parse_level(level: str) -> Level:
    name = level.strip().upper()
    name = _ALIASES.get(name, name)
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
    return name


class JsonLineLogger:
    """Writes one JSON log line per call and flushes, so each reaches the supervisor at once."""

    def __init__(self, stream: TextIO | None = None, min_level: str = "INFO") -> None:
        self._stream = stream
        self._min = LEVELS.index(parse_level(min_level))

    def __call__(self, level: str, message: str) -> None:
        name = parse_level(level)
        if LEVELS.index(name) < self._min:
            return
        stream = self._stream or sys.stdout
        stream.write(json.dumps({"level": name, "message": message}, ensure_ascii=False) + "\n")
        stream.flush()


class StatsFile:
    """The counters as JSON at a path the worker polls; readers see whole files only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, counters: Counters) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(counters.as_dict()), encoding="utf-8")
        os.replace(tmp, self.path)
