"""Ships the attempt's captured log lines (`logs.jsonl`, written by the supervisor or by a
pod's crawler entry) to the run-logs table in DynamoDB, in BatchWriteItem calls of at most
25 items.

Only whole lines are read, from the persisted offset on; the offset advances after DynamoDB
took a batch, so a restarted forwarder goes on where it stopped (and a line shipped twice
lands on the same item: the key is the run, the attempt and the line's seq). The log is
complete once its writer wrote `logs.closed` and every line before it is shipped; with nobody
capturing output (the forwarder's own tests) there is no logs.jsonl and nothing to wait for."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trawl.crawlers.forwarder.layout import LOGS_CLOSED, LOGS_FILE
from trawl.crawlers.forwarder.pacing import Backoff, Notices, Outage
from trawl.crawlers.forwarder.progress import Progress
from trawl.crawlers.run_logs import BATCH_WRITE_MAX_ITEMS, log_item, write_batch
from trawl.live.channels import run_logs_channel
from trawl.live.redis_broker import RedisPublisher

# Captured lines are capped at 16 KiB of text, so a read this big always holds a whole line.
READ_BYTES = 1024 * 1024


class LogShipper:
    def __init__(
        self,
        attempt_dir: Path,
        client: Any,
        table: str,
        run: tuple[str, int],
        progress: Progress,
        notices: Notices,
        stop: threading.Event,
        *,
        poll_seconds: float,
        backoff: Backoff,
        records_drained: threading.Event,
        hints: RedisPublisher | None = None,
        writer_lost: Callable[[], bool] | None = None,
    ) -> None:
        self.logs = attempt_dir / LOGS_FILE
        self.closed = attempt_dir / LOGS_CLOSED
        self.client = client
        self.table = table
        self.run_id, self.attempt = run
        self.progress = progress
        self.stop = stop
        self.poll_seconds = poll_seconds
        self.backoff = backoff
        self.records_drained = records_drained
        self.hints = hints
        # In a pod: True once the crawler container died and its log was closed for it.
        self.writer_lost = writer_lost
        self._outage = Outage("DynamoDB", notices)

    def run(self) -> None:
        """Until the log is complete and shipped, or until stopped."""
        while not self.stop.is_set():
            if self._ship_available():
                continue
            if self._complete():
                self.progress.update(logs_drained=True)
                return
            if self.writer_lost is not None and self.writer_lost():
                continue  # its log is closed now: ship the rest
            self.stop.wait(self.poll_seconds)

    def _offset(self) -> int:
        return int(self.progress.get("logs_offset", 0))

    def _complete(self) -> bool:
        # Checked before the size: no line the forwarder must ship is written after it.
        if self.closed.exists():
            try:
                return self._offset() >= self.logs.stat().st_size
            except FileNotFoundError:
                return True
        return self.records_drained.is_set() and not self.logs.exists()

    def _read_whole_lines(self) -> list[bytes]:
        try:
            with self.logs.open("rb") as file:
                file.seek(self._offset())
                data = file.read(READ_BYTES)
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        return data[: end + 1].split(b"\n")[:-1] if end >= 0 else []

    def _ship_available(self) -> bool:
        """Ships the whole lines written so far; False when there were none."""
        lines = self._read_whole_lines()
        if not lines:
            return False
        offset = self._offset()
        items: list[dict[str, Any]] = []
        consumed = 0
        for raw in lines:
            consumed += len(raw) + 1
            item = self._item(raw)
            if item is not None:
                items.append(item)
            if len(items) == BATCH_WRITE_MAX_ITEMS:
                if not self._write(items):
                    return True
                offset, consumed = self._advance(offset, consumed, len(items)), 0
                items = []
        if (items or consumed) and self._write(items):
            self._advance(offset, consumed, len(items))
        return True

    def _advance(self, offset: int, consumed: int, shipped: int) -> int:
        offset += consumed
        self.progress.logs_shipped(offset, shipped)
        return offset

    def _item(self, raw: bytes) -> dict[str, Any] | None:
        try:
            line = json.loads(raw)
            return log_item(self.run_id, self.attempt, line)
        except (ValueError, KeyError, TypeError):
            # The supervisor writes whole JSON lines; anything else is not a log line.
            return None

    def _write(self, items: list[dict[str, Any]]) -> bool:
        """Until DynamoDB took every item (True) or the forwarder is stopped (False)."""
        while items and not self.stop.is_set():
            try:
                items = write_batch(self.client, self.table, items)
            except Exception as exc:
                self._outage.failed(time.monotonic(), exc)
                self.stop.wait(self.backoff.next_delay())
                continue
            self._outage.recovered(time.monotonic())
            if items:
                self.stop.wait(self.backoff.next_delay())
            else:
                self.backoff.reset()
                self._hint()
        return not items

    def _hint(self) -> None:
        """Tells live subscribers that new lines are readable (best effort)."""
        if self.hints is not None:
            self.hints.publish(
                run_logs_channel(self.run_id), {"kind": "logs", "run_id": self.run_id}
            )
