"""The records the bench pushes: the fixture shop's products with distinct ids, enveloped for a
run as a crawler does (record id from the key field, sequences from 1), and written with the
real BufferWriter."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.ingest.rig import KEY_FIELDS
from trawl.crawlers.buffer import BufferWriter, RunIdentity, envelope, record_id
from trawl.demo.catalog import expected_products


@dataclass(frozen=True, slots=True)
class Item:
    payload: dict[str, Any]
    record_id: str


def items(count: int) -> list[Item]:
    products = expected_products()
    payloads = [{**products[n % len(products)], "id": n + 1} for n in range(count)]
    return [Item(p, record_id(p, KEY_FIELDS)) for p in payloads]


def envelopes(who: RunIdentity, batch: list[Item]) -> list[dict[str, Any]]:
    return [envelope(who, item.payload, n, item.record_id) for n, item in enumerate(batch, 1)]


@dataclass(frozen=True, slots=True)
class Emitted:
    first_at: float  # epoch seconds, just before the first record's envelope
    seconds: float  # from the first record to the buffer closed


def emit(
    buffer: Path,
    who: RunIdentity,
    batch: list[Item],
    *,
    chunk_records: int,
    rate: float,
    stop: threading.Event,
) -> Emitted:
    """Appends every record (emitted_at = now) and closes the buffer; `rate` > 0 paces the
    appends to that many records per second, checked every 100 records."""
    writer = BufferWriter(buffer, max_records=chunk_records)
    started, first_at = time.perf_counter(), time.time()
    for n, item in enumerate(batch, 1):
        writer.append(envelope(who, item.payload, n, item.record_id))
        if n % 100 == 0:
            if stop.is_set():
                raise RuntimeError("stopped while emitting")
            ahead = n / rate - (time.perf_counter() - started) if rate > 0 else 0.0
            if ahead > 0:
                time.sleep(ahead)
    writer.close()
    return Emitted(first_at, time.perf_counter() - started)
