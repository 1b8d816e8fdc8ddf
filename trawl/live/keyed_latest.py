"""A subscriber queue keeping the newest message per key: a project's run updates, where
each run's latest state matters and one busy run must not push out another's last change.
Bounded by the number of distinct keys with an unread update (the runs of one project)."""

from __future__ import annotations

from collections.abc import Callable

from trawl.live.channels import Message
from trawl.live.subscriber_queues import RESYNC, Delivery, SubscriberQueue


class LatestPerKey(SubscriberQueue):
    def __init__(self, key: Callable[[Message], str]) -> None:
        super().__init__()
        self._key = key
        # Insertion-ordered: a key keeps its place in line when its value is replaced.
        self._pending: dict[str, Message] = {}
        self._resync = False

    def put(self, message: Message) -> None:
        if self._closed:
            return
        self._pending[self._key(message)] = message
        self._ready.set()

    def resync(self) -> None:
        if self._closed:
            return
        self._pending.clear()  # the refetch after RESYNC supersedes them
        self._resync = True
        self._ready.set()

    def _take(self) -> Delivery | None:
        if self._resync:
            self._resync = False
            return RESYNC
        if not self._pending:
            return None
        key = next(iter(self._pending))
        return self._pending.pop(key)

    def __len__(self) -> int:
        return len(self._pending) + int(self._resync)
