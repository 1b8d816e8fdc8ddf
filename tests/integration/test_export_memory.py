"""Exports stream: memory stays flat while records flow through each format, however many.

Memory is the process's resident set (/proc/self/statm), sampled as the records are
generated: it sees what Arrow, zlib, libyaml and openpyxl allocate outside Python's heap,
which tracemalloc would miss. The sample taken once the writer is warm (after the first
`WARM_UP` records) is the baseline; no later sample may exceed it by more than `BOUND`.
An export that kept its records would grow by about 1 kB per record (a Python dict of
eight values): 50 MB at the quick suite's 50,000 records, 1 GB at the e2e's million."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trawl.exports import export_records

PAGE = os.sysconf("SC_PAGE_SIZE")
WARM_UP = 20_000
SAMPLE_EVERY = 10_000
BOUND = 16 * 2**20
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "price": {
            "type": "object",
            "properties": {"amount": {"type": "number"}, "currency": {"type": "string"}},
        },
        "in_stock": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["id", "name"],
}


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE


def _records(count: int, samples: dict[int, int]) -> Iterator[dict[str, Any]]:
    for n in range(count):
        if n % SAMPLE_EVERY == 0:
            samples[n] = _rss()
        yield {
            "record_id": f"rec-{n:09d}",
            "sequence": n + 1,
            "payload": {
                "id": n,
                "name": f"item {n}",
                "price": {"amount": n / 100, "currency": "EUR"},
                "in_stock": n % 3 != 0,
                "tags": ["new", f"batch-{n % 7}"],
            },
        }
    samples[count] = _rss()


def _assert_flat_memory(export_format: str, compression: str, count: int) -> None:
    samples: dict[int, int] = {}
    started = time.perf_counter()
    with open(os.devnull, "wb") as out:
        stats = export_records(_records(count, samples), export_format, compression, SCHEMA, out)
    elapsed = time.perf_counter() - started

    baseline = samples[WARM_UP]
    growth = max(rss for n, rss in samples.items() if n >= WARM_UP) - baseline
    print(
        f"{export_format}/{compression}: {count:,} records, {stats.bytes / 2**20:.1f} MiB "
        f"in {elapsed:.1f} s; resident set grew {growth / 2**20:.1f} MiB after warm-up"
    )
    assert stats.records == count
    assert growth < BOUND


@pytest.mark.parametrize(
    ("export_format", "compression"),
    [
        *[(f, "none") for f in ("csv", "json", "jsonl", "xlsx", "xml", "yaml", "avro")],
        ("parquet", "none"),
        ("jsonl", "gzip"),
        ("parquet", "zip"),
    ],
)
def test_memory_stays_flat_while_records_stream(export_format: str, compression: str) -> None:
    _assert_flat_memory(export_format, compression, 50_000)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("export_format", "compression", "count"),
    [
        *[(f, "none", 1_000_000) for f in ("csv", "jsonl", "json", "xml", "avro", "parquet")],
        ("csv", "gzip", 1_000_000),
        ("parquet", "zip", 1_000_000),
        ("xlsx", "none", 200_000),  # openpyxl writes ~10k rows/s: a million takes minutes
        ("yaml", "none", 200_000),
    ],
)
def test_a_million_records_stream_in_constant_memory(
    export_format: str, compression: str, count: int
) -> None:
    _assert_flat_memory(export_format, compression, count)
