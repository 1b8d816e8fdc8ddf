"""Reads a crawler's record buffer back (`<run dir>/buffer/chunk-*.jsonl|.open`), in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def buffered_envelopes(run_dir: Path) -> list[dict[str, Any]]:
    """Every complete enveloped record, sealed chunks and the open one, in chunk order."""
    chunks = sorted(
        path for path in (run_dir / "buffer").glob("chunk-*") if path.suffix in {".jsonl", ".open"}
    )
    envelopes = []
    for chunk in chunks:
        for line in chunk.read_text(encoding="utf-8").splitlines():
            try:
                envelopes.append(json.loads(line))
            except ValueError:
                continue  # a torn last line of a killed writer is not a record
    return envelopes


def buffered_records(run_dir: Path) -> list[dict[str, Any]]:
    """The payloads, as the crawler emitted them."""
    return [envelope["payload"] for envelope in buffered_envelopes(run_dir)]


def buffer_closed(run_dir: Path) -> bool:
    return (run_dir / "buffer" / "DONE").exists()
