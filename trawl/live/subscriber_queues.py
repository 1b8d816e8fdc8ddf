"""Per-subscriber queues between a broadcaster and one subscription's consumer.

The broadcaster's side (`put`, `resync`, `close`) is synchronous and never waits: one
broadcaster feeds every subscriber of a channel from one task, so a consumer that stops
reading must not hold up the others. What a slow consumer loses depends on the kind:

- `LatestValue` (run state, stats): only the newest message matters, so a new one replaces
  an unread one. A slow client sees fewer updates, never stale ones.
- `BoundedLog` (log lines): every message matters, so nothing is replaced. When the consumer
  falls `capacity` messages behind, the queue stops buffering and its next `get` raises
  `SubscriberTooSlow`; the client then resumes from the last sequence it received instead of
  the gateway holding an unbounded backlog for it.

Both deliver `RESYNC` when the broadcaster lost its upstream and got it back (a Redis
restart): messages published in between are gone, so the consumer refetches current state.
Single consumer per queue; every call must come from the event loop's thread."""

from __future__ import annotations

import asyncio
import enum
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator
from typing import Final

from trawl.live.channels import Message


class Resync(enum.Enum):
    """Marker type of `RESYNC` (an enum so `item is RESYNC` narrows the type)."""

    RESYNC = "resync"


RESYNC: Final = Resync.RESYNC

Delivery = Message | Resync


class QueueClosed(Exception):
    """End of stream: the queue was closed and everything buffered was consumed."""


class SubscriberTooSlow(Exception):
    """The consumer fell too far behind and messages were dropped; resume from the last
    sequence received."""

    def __init__(self, dropped: int, capacity: int) -> None:
        super().__init__(
            f"subscriber fell behind: {dropped} message(s) dropped after {capacity} were "
            "buffered; resume from the last sequence received"
        )
        self.dropped = dropped
        self.capacity = capacity


class SubscriberQueue(ABC):
    """What a broadcaster delivers into. `get` waits; `put`, `resync` and `close` never do."""

    def __init__(self) -> None:
        self._ready = asyncio.Event()
        self._closed = False

    @abstractmethod
    def put(self, message: Message) -> None:
        """Offer a message; never blocks (what happens when the consumer lags is per kind)."""

    @abstractmethod
    def resync(self) -> None:
        """Tell the consumer that messages may have been lost and it should refetch."""

    @abstractmethod
    def _take(self) -> Delivery | None:
        """The next delivery, None when nothing is ready (may raise for the consumer)."""

    @abstractmethod
    def __len__(self) -> int:
        """Deliveries ready to be taken without waiting."""

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """End of stream: the consumer gets what is buffered, then `QueueClosed`."""
        self._closed = True
        self._ready.set()

    async def get(self) -> Delivery:
        """The next message or `RESYNC`; raises `QueueClosed` at end of stream."""
        while True:
            item = self._take()
            if item is not None:
                return item
            if self._closed:
                raise QueueClosed
            self._ready.clear()
            await self._ready.wait()

    async def __aiter__(self) -> AsyncIterator[Delivery]:
        """Iterates deliveries until the queue is closed (`SubscriberTooSlow` propagates)."""
        while True:
            try:
                item = await self.get()
            except QueueClosed:
                return
            yield item


class LatestValue(SubscriberQueue):
    """Holds at most the newest message: for state and stats, where an old value is useless
    once a newer one exists."""

    def __init__(self) -> None:
        super().__init__()
        self._value: Message | None = None
        self._resync = False

    def put(self, message: Message) -> None:
        if self._closed:
            return
        self._value = message
        self._ready.set()

    def resync(self) -> None:
        if self._closed:
            return
        # A value from before the gap is superseded by the state the consumer will refetch.
        self._value = None
        self._resync = True
        self._ready.set()

    def _take(self) -> Delivery | None:
        if self._resync:
            self._resync = False
            return RESYNC
        value, self._value = self._value, None
        return value

    def __len__(self) -> int:
        return int(self._resync) + int(self._value is not None)


class BoundedLog(SubscriberQueue):
    """FIFO of up to `capacity` messages: for logs, where every line matters and a client
    that cannot keep up is told to resume rather than silently skipping lines."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        super().__init__()
        self.capacity = capacity
        self._items: deque[Delivery] = deque()
        self._dropped = 0

    @property
    def overflowed(self) -> bool:
        return self._dropped > 0

    def put(self, message: Message) -> None:
        if self._closed:
            return
        if self._dropped or len(self._items) >= self.capacity:
            # Keeping anything after a gap would let the consumer stitch lines across it.
            self._dropped += 1
            self._ready.set()
            return
        self._items.append(message)
        self._ready.set()

    def resync(self) -> None:
        if self._closed or self._dropped:
            return  # an overflowed consumer is already told to resume
        # Not counted against capacity: it must reach the consumer, and repeats add nothing.
        if not self._items or self._items[-1] is not RESYNC:
            self._items.append(RESYNC)
        self._ready.set()

    def _take(self) -> Delivery | None:
        if self._dropped:
            raise SubscriberTooSlow(self._dropped, self.capacity)
        return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        return len(self._items)
