"""The broadcaster interface and its in-process implementation.

Producers `publish` a message on a channel; each gateway subscription registers a queue on
the channels it needs for as long as it lives (`async with broadcaster.subscribe(...)`).
When one process hosts everything (the embedded default) `InProcessBroadcaster` is enough;
with several gateway replicas `RedisBroadcaster` (trawl.live.redis_broker) carries messages
between processes. Both fan out by putting into every local queue of the channel without
awaiting anything, so one slow consumer never delays the others."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from trawl.live.channels import Message
from trawl.live.subscriber_queues import SubscriberQueue

if TYPE_CHECKING:
    from trawl.config import Settings


class BroadcastUnavailable(Exception):
    """The message could not be handed to the fan-out (Redis unreachable). Publishers log it
    and carry on: a domain write must never fail because live updates are down."""


Attach = Callable[[str, SubscriberQueue], Awaitable[None]]


class Subscription:
    """Registers `queue` on `channel` on enter and unregisters it on exit. Entering returns
    the queue, so `async with b.subscribe(ch, LatestValue()) as queue:` reads naturally."""

    def __init__(
        self, channel: str, queue: SubscriberQueue, attach: Attach, detach: Attach
    ) -> None:
        self.channel = channel
        self.queue = queue
        self._attach = attach
        self._detach = detach

    async def __aenter__(self) -> SubscriberQueue:
        try:
            await self._attach(self.channel, self.queue)
        except BaseException:
            # Cancelled (client gone) half-way: __aexit__ will not run, so undo here, or the
            # queue would stay registered and the channel subscribed for good.
            await self._detach(self.channel, self.queue)
            raise
        return self.queue

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._detach(self.channel, self.queue)


class Broadcaster(Protocol):
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Delivers `message` to every subscriber of `channel`, in every process that shares
        this broadcaster's upstream. Raises `BroadcastUnavailable` when that upstream is down."""
        ...

    def subscribe(self, channel: str, queue: SubscriberQueue) -> Subscription:
        """A context manager that keeps `queue` registered on `channel` while entered. When
        `__aenter__` returns, messages published from then on reach the queue."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None:
        """Stops delivery and closes every registered queue (consumers see end of stream)."""
        ...


class LocalSubscribers:
    """The queues registered per channel in this process; the fan-out both broadcasters
    share. A queue may be registered on several channels, or twice on one."""

    def __init__(self) -> None:
        self._queues: dict[str, list[SubscriberQueue]] = {}

    def add(self, channel: str, queue: SubscriberQueue) -> bool:
        """Registers the queue; True when it is the channel's first."""
        queues = self._queues.setdefault(channel, [])
        queues.append(queue)
        return len(queues) == 1

    def remove(self, channel: str, queue: SubscriberQueue) -> bool:
        """Unregisters the queue; True when the channel has no queue left."""
        queues = self._queues.get(channel)
        if queues is None or queue not in queues:
            return False
        queues.remove(queue)
        if queues:
            return False
        del self._queues[channel]
        return True

    def channels(self) -> list[str]:
        return list(self._queues)

    def __contains__(self, channel: object) -> bool:
        return channel in self._queues

    def deliver(self, channel: str, message: Message) -> int:
        """Puts the message into every queue of the channel; returns how many."""
        queues = self._queues.get(channel, ())
        for queue in queues:
            queue.put(message)
        return len(queues)

    def resync(self, channel: str) -> None:
        for queue in self._queues.get(channel, ()):
            queue.resync()

    def close_all(self) -> None:
        for queues in self._queues.values():
            for queue in queues:
                queue.close()
        self._queues.clear()


class InProcessBroadcaster:
    """Fan-out inside one process. Messages are round-tripped through JSON so a payload that
    Redis could not carry fails here too, and no two subscribers share a mutable object with
    the publisher."""

    def __init__(self) -> None:
        self._subscribers = LocalSubscribers()
        self._closed = False

    async def start(self) -> None:
        return None

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        if self._closed:
            raise BroadcastUnavailable("the broadcaster is closed")
        self._subscribers.deliver(channel, json.loads(json.dumps(message)))

    def subscribe(self, channel: str, queue: SubscriberQueue) -> Subscription:
        return Subscription(channel, queue, self._attach, self._detach)

    async def close(self) -> None:
        self._closed = True
        self._subscribers.close_all()

    async def _attach(self, channel: str, queue: SubscriberQueue) -> None:
        if self._closed:
            raise RuntimeError("the broadcaster is closed")
        self._subscribers.add(channel, queue)

    async def _detach(self, channel: str, queue: SubscriberQueue) -> None:
        self._subscribers.remove(channel, queue)


def create_broadcaster(settings: Settings) -> Broadcaster:
    """Redis when `settings.redis_url` is set (several gateways), in-process otherwise."""
    if not settings.redis_url:
        return InProcessBroadcaster()
    from trawl.live.redis_broker import RedisBroadcaster  # here: it builds on this module

    return RedisBroadcaster(settings.redis_url)
