"""The outbox relay: publishes committed outbox rows to EventBridge and marks them sent.

Delivery is at least once: a row is marked sent only after PutEvents acknowledged its entry,
so a crash or timeout between the two re-publishes it later (consumers dedupe by event id),
and nothing is lost while the bus is down — rows wait, with `attempts` and `last_error`.

Two relays at once: on MySQL/MariaDB the batch is claimed with SELECT ... FOR UPDATE SKIP
LOCKED and the row locks are held across the PutEvents call (row locks only, under READ
COMMITTED, so writers adding new events are never blocked). SQLite has only a database-wide
write lock, and holding it across a network call would stall every writer while the bus is
slow; there the batch is read and marked in two short transactions, and relays on the same
file take turns through an advisory file lock beside it (without it, two relays read the same
oldest rows and publish nearly every event twice)."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import random
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trawl.config import Settings
from trawl.domain.db import Database, utcnow
from trawl.domain.outbox import OutboxEvent
from trawl.events.aws import aws_client, client_config

log = logging.getLogger("trawl.events.relay")

MAX_ENTRIES_PER_CALL = 10  # the PutEvents limit
# PutEvents refuses a request over 256 KiB; an entry that alone exceeds it can never be sent,
# so it is failed locally instead of failing every batch it would be part of.
MAX_REQUEST_BYTES = 256 * 1024
_TIME_ENTRY_BYTES = 14  # how EventBridge counts a Time field
_MAX_ERROR_CHARS = 2000
_LOCKING_DIALECTS = ("mysql", "mariadb")


class BusUnavailable(Exception):
    """PutEvents failed as a whole (unreachable, timed out, refused); rows stay unsent."""


@dataclass
class _Outcome:
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # row id -> error
    attempts: dict[str, int] = field(default_factory=dict)  # row id -> attempts, this one too
    call_error: str | None = None


class OutboxRelay:
    """Drains the outbox to the event bus. One instance is not re-entrant (it serializes
    its own calls); several instances or processes may run against one database."""

    def __init__(self, db: Database, settings: Settings, client: Any = None) -> None:
        self._db = db
        self._settings = settings
        self._client = client or aws_client(
            settings, "events", config=client_config(read_timeout=5.0)
        )
        self._batch_size = max(1, min(settings.outbox_batch_size, MAX_ENTRIES_PER_CALL))
        self._locking = db.engine.dialect.name in _LOCKING_DIALECTS
        self._turn_file = _turn_file(db)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._random = random.Random()
        # Rows EventBridge rejected, held back until a per-row backoff passes, so a poison
        # row neither hogs every batch nor turns the loop into a hot retry.
        self._deferred: dict[str, float] = {}
        self._more_pending = False

    def wake(self) -> None:
        """Nudge a running `run()` to publish now instead of at its next poll."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publishes one batch of the oldest unsent rows; returns how many were acknowledged.

        Raises BusUnavailable (after recording the error on the rows) when the call failed."""
        async with self._lock:
            if self._locking:
                outcome, fetched = await self._publish_holding_row_locks()
            else:
                outcome, fetched = await self._publish_in_short_transactions()
        self._more_pending = fetched == self._batch_size and not outcome.call_error
        if outcome.call_error:
            raise BusUnavailable(outcome.call_error)
        return len(outcome.sent)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set: drain while there is work, poll when idle, back off
        exponentially (with jitter) while publishing fails."""
        failures = 0
        while not stop.is_set():
            try:
                await self.publish_pending()
            except Exception as exc:  # the bus or the database: back off, never die
                failures += 1
                delay = self._backoff(failures)
                log.warning(
                    "outbox_relay=publish_failed failures=%d retry_in=%.2f error=%r",
                    failures,
                    delay,
                    str(exc)[:300],
                )
                await wait_any(stop, seconds=delay)
                continue
            if failures:
                log.info("outbox_relay=recovered after_failures=%d", failures)
                failures = 0
            if not self._more_pending:
                await wait_any(stop, self._wake, seconds=self._settings.outbox_poll_seconds)
                self._wake.clear()

    async def _publish_holding_row_locks(self) -> tuple[_Outcome, int]:
        async with self._db.transaction() as session:
            # READ COMMITTED: no gap locks, so inserts of new outbox rows never wait on us.
            await session.connection(execution_options={"isolation_level": "READ COMMITTED"})
            rows = await self._claim(session, skip_locked=True)
            if not rows:
                return _Outcome(), 0
            outcome = await self._put(rows)
            await self._record(session, outcome)
        return outcome, len(rows)

    async def _publish_in_short_transactions(self) -> tuple[_Outcome, int]:
        with _turn(self._turn_file) as my_turn:
            if not my_turn:
                return _Outcome(), 0  # another relay is publishing this database's rows
            async with self._db.transaction() as session:
                rows = await self._claim(session, skip_locked=False)
            if not rows:
                return _Outcome(), 0
            outcome = await self._put(rows)
            async with self._db.transaction() as session:
                await self._record(session, outcome)
            return outcome, len(rows)

    async def _claim(self, session: AsyncSession, *, skip_locked: bool) -> list[OutboxEvent]:
        stmt = (
            select(OutboxEvent)
            .where(OutboxEvent.sent_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(self._batch_size)
        )
        deferred = self._still_deferred()
        if deferred:
            stmt = stmt.where(OutboxEvent.id.not_in(deferred))
        if skip_locked:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = (await session.scalars(stmt)).all()
        # A locking read that waited can return a row in its newest state, already sent.
        return [row for row in rows if row.sent_at is None]

    def _still_deferred(self) -> list[str]:
        now = time.monotonic()
        for row_id in [key for key, until in self._deferred.items() if until <= now]:
            del self._deferred[row_id]
        return list(self._deferred)

    async def _put(self, rows: Sequence[OutboxEvent]) -> _Outcome:
        outcome = _Outcome(attempts={row.id: row.attempts + 1 for row in rows})
        entries, batch = self._entries(rows, outcome)
        if not entries:
            return outcome
        try:
            reply = await asyncio.to_thread(self._client.put_events, Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            outcome.call_error = error
            outcome.failed.update({row.id: error for row in batch})
            return outcome
        results = list(reply.get("Entries") or [])
        for index, row in enumerate(batch):
            result = results[index] if index < len(results) else {}
            if result.get("EventId") and not result.get("ErrorCode"):
                outcome.sent.append(row.id)
            else:
                code = result.get("ErrorCode", "NoResult")
                outcome.failed[row.id] = f"{code}: {result.get('ErrorMessage', '')}"
        return outcome

    def _entries(
        self, rows: Sequence[OutboxEvent], outcome: _Outcome
    ) -> tuple[list[dict[str, Any]], list[OutboxEvent]]:
        """PutEvents entries for as many rows as fit in one request, in order."""
        entries: list[dict[str, Any]] = []
        batch: list[OutboxEvent] = []
        total = 0
        for row in rows:
            entry = self._entry(row)
            size = _entry_bytes(entry)
            if size > MAX_REQUEST_BYTES:
                outcome.failed[row.id] = f"EntryTooLarge: {size} bytes"
                continue
            if total + size > MAX_REQUEST_BYTES:
                break  # the rest go in the next call
            total += size
            entries.append(entry)
            batch.append(row)
        return entries, batch

    def _entry(self, row: OutboxEvent) -> dict[str, Any]:
        return {
            "Source": self._settings.event_source,
            "DetailType": row.event_type,
            "Detail": row.to_event().detail_json(),
            "EventBusName": self._settings.event_bus_name,
            "Time": row.created_at,
        }

    async def _record(self, session: AsyncSession, outcome: _Outcome) -> None:
        if outcome.sent:
            result = await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(outcome.sent), OutboxEvent.sent_at.is_(None))
                .values(sent_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            already = len(outcome.sent) - _rowcount(result)
            if already > 0:
                # Another relay sent these first (SQLite only): consumers dedupe by id.
                log.info("outbox_relay=published_twice count=%d", already)
            for row_id in outcome.sent:
                self._deferred.pop(row_id, None)
        by_error: dict[str, list[str]] = defaultdict(list)
        for row_id, error in outcome.failed.items():
            by_error[error[:_MAX_ERROR_CHARS]].append(row_id)
        for error, row_ids in by_error.items():
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(row_ids), OutboxEvent.sent_at.is_(None))
                .values(attempts=OutboxEvent.attempts + 1, last_error=error)
                .execution_options(synchronize_session=False)
            )
        if not outcome.call_error:
            self._defer_rejected(outcome)

    def _defer_rejected(self, outcome: _Outcome) -> None:
        now = time.monotonic()
        for row_id, error in outcome.failed.items():
            attempts = outcome.attempts.get(row_id, 1)
            self._deferred[row_id] = now + self._backoff(attempts)
            log.warning(
                "outbox_relay=event_rejected event_id=%s attempts=%d error=%r",
                row_id,
                attempts,
                error[:300],
            )

    def _backoff(self, failures: int) -> float:
        return backoff_delay(
            failures,
            base=self._settings.outbox_poll_seconds,
            cap=self._settings.outbox_retry_max_seconds,
            rng=self._random,
        )


def backoff_delay(failures: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": never a hot retry, yet processes that
    failed together drift apart."""
    base = max(base, 0.05)
    ceiling = min(max(cap, base), base * 2.0 ** min(failures - 1, 30))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


async def wait_any(*events: asyncio.Event, seconds: float) -> None:
    """Returns when any of the events is set, or after `seconds`."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _turn_file(db: Database) -> Path | None:
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(f"{url.database}.relay-lock")


@contextmanager
def _turn(path: Path | None) -> Iterator[bool]:
    """Yields whether this relay may publish now: an exclusive, non-blocking flock on `path`
    (released by the OS if the process dies). No path: nothing to share, always our turn."""
    if path is None:
        yield True
        return
    with path.open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _entry_bytes(entry: dict[str, Any]) -> int:
    text = entry["Source"] + entry["DetailType"] + entry["Detail"]
    return len(text.encode("utf-8")) + _TIME_ENTRY_BYTES


def _rowcount(result: Any) -> int:
    count = getattr(result, "rowcount", -1)
    return int(count) if isinstance(count, int) and count >= 0 else 0
