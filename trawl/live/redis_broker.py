"""Fan-out across gateway replicas through Redis pub/sub.

Each gateway process holds ONE pub/sub connection, whatever its number of clients: a channel
is SUBSCRIBEd when its first local subscriber arrives and UNSUBSCRIBEd when its last leaves,
and a single reader task puts each message into the local queues of its channel (never
awaiting a consumer). Producers PUBLISH JSON on a separate pooled connection, or with
`RedisPublisher` from processes that run no event loop (the crawler's log forwarder).

Redis pub/sub keeps nothing for a disconnected subscriber, so when the connection drops
(Redis restarted, network cut) the reader reconnects with backoff (0.1 s doubling to 5 s),
re-subscribes every channel that still has local subscribers, and — once Redis confirmed a
channel — puts `RESYNC` into its queues so each client refetches what it may have missed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from trawl.live.broker import BroadcastUnavailable, LocalSubscribers, Subscription
from trawl.live.channels import Message
from trawl.live.subscriber_queues import SubscriberQueue

__all__ = ["BroadcastUnavailable", "RedisBroadcaster", "RedisPublisher"]

log = logging.getLogger("trawl.live.redis")

# Errors that mean "the connection is gone or unusable", as opposed to a bug of ours.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
    TimeoutError,
)
_PUBLISH_PAUSES = (0.0, 0.05, 0.25)  # before each attempt: ~0.3 s of retries, then give up


class RedisBroadcaster:
    """`Broadcaster` over Redis pub/sub; one instance per gateway process."""

    def __init__(
        self,
        url: str,
        *,
        socket_timeout: float = 2.0,
        reconnect_initial: float = 0.1,
        reconnect_max: float = 5.0,
        ping_interval: float = 5.0,
        confirm_timeout: float = 5.0,
    ) -> None:
        self._url = url
        self._client: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            socket_keepalive=True,
        )
        self._reconnect_initial = reconnect_initial
        self._reconnect_max = reconnect_max
        self._ping_interval = ping_interval
        self._confirm_timeout = confirm_timeout
        self._subscribers = LocalSubscribers()
        # Orders SUBSCRIBE/UNSUBSCRIBE against a reconnect's snapshot of the channels, so a
        # channel is never missed by both.
        self._lock = asyncio.Lock()
        self._pubsub: PubSub | None = None  # set while the reader holds a live connection
        # Per channel, one entry per SUBSCRIBE sent on the current connection, in order: a
        # future for a subscriber waiting for Redis' confirmation, or None after a reconnect
        # (the confirmation then triggers the RESYNC of the channel's queues).
        self._awaiting: dict[str, deque[asyncio.Future[None] | None]] = {}
        self._first_attempt = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        """Starts the reader and waits for its first connection attempt, so subscribers
        arriving at start-up usually find the connection up. A Redis that is down does not
        stop the gateway: the reader keeps trying, and subscribers registered meanwhile are
        subscribed (and resynced) when it succeeds."""
        if self._reader is not None:
            return
        self._reader = asyncio.create_task(self._run(), name="trawl-live-redis-reader")
        await self._first_attempt.wait()

    async def close(self) -> None:
        self._closed = True
        reader, self._reader = self._reader, None
        # Cancelled until it ends: redis-py can swallow one cancellation (see _uncancellable).
        while reader is not None and not reader.done():
            reader.cancel()
            await asyncio.wait({reader}, timeout=1.0)
        await self._drop_connection()
        self._subscribers.close_all()
        await self._client.aclose()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":"))
        error: BaseException | None = None
        for pause in _PUBLISH_PAUSES:
            if pause:
                await asyncio.sleep(pause)
            try:
                await self._client.publish(channel, payload)
                return
            except _CONNECTION_ERRORS as exc:
                error = exc
            except RedisError as exc:  # refused (read-only replica, OOM...): retrying won't help
                raise BroadcastUnavailable(f"Redis refused PUBLISH to {channel}: {exc}") from exc
        raise BroadcastUnavailable(f"Redis unreachable, PUBLISH to {channel}: {error}") from error

    def subscribe(self, channel: str, queue: SubscriberQueue) -> Subscription:
        return Subscription(channel, queue, self._attach, self._detach)

    async def subscriber_count(self, channel: str) -> int:
        """Subscribers of `channel` on the Redis server, all processes (PUBSUB NUMSUB)."""
        counts = await self._client.pubsub_numsub(channel)
        return int(counts[0][1]) if counts else 0

    # -- local subscribers -----------------------------------------------------------------

    async def _attach(self, channel: str, queue: SubscriberQueue) -> None:
        if self._closed:
            raise RuntimeError("the broadcaster is closed")
        confirmed = await self._register(channel, queue)
        if confirmed is None:
            return
        # Waiting for Redis' confirmation means a message published after we return is not
        # missed — the caller fetches current state next and relies on that. Shielded: other
        # subscribers of the channel may be waiting on the same confirmation. Not wait_for:
        # on 3.11 it can swallow a cancellation that races the reply, and a client that went
        # away would then hold its subscription forever.
        try:
            async with asyncio.timeout(self._confirm_timeout):
                await asyncio.shield(confirmed)
        except TimeoutError:
            log.warning("live_redis=subscribe_unconfirmed channel=%s", channel)

    async def _register(self, channel: str, queue: SubscriberQueue) -> asyncio.Future[None] | None:
        """Adds the queue, SUBSCRIBEs if it is the channel's first; returns the confirmation
        to wait for, None when there is nothing to wait for."""
        async with self._lock:
            first = self._subscribers.add(channel, queue)
            pubsub = self._pubsub
            if pubsub is None:
                return None  # the next connection subscribes it, then resyncs the queue
            waiting = self._awaiting.setdefault(channel, deque())
            if not first:  # subscribed already, or about to be: wait for the same reply
                pending = [e for e in waiting if e is not None and not e.done()]
                return pending[-1] if pending else None
            confirmed = asyncio.get_running_loop().create_future()
            waiting.append(confirmed)
            try:
                await _uncancellable(pubsub.subscribe(channel))
            except _CONNECTION_ERRORS as exc:
                log.info("live_redis=subscribe_failed channel=%s error=%s", channel, exc)
                return None  # the reader notices the loss; its reconnect subscribes and resyncs
            return confirmed

    async def _detach(self, channel: str, queue: SubscriberQueue) -> None:
        async with self._lock:
            last = self._subscribers.remove(channel, queue)
            pubsub = self._pubsub
            if not last or pubsub is None:
                return
            try:
                await _uncancellable(pubsub.unsubscribe(channel))
            except _CONNECTION_ERRORS as exc:
                # Harmless: the channel is no longer local, so no reconnect re-subscribes it.
                log.info("live_redis=unsubscribe_failed channel=%s error=%s", channel, exc)

    # -- the reader ------------------------------------------------------------------------

    async def _run(self) -> None:
        """Connects, reads until the connection fails, reconnects with backoff; forever."""
        loop = asyncio.get_running_loop()
        delay = self._reconnect_initial
        down_since: float | None = None
        while True:
            try:
                pubsub = await self._connect()
            except Exception as exc:  # refused, timed out, auth... all mean "not now"
                if down_since is None:
                    down_since = loop.time()
                    log.warning("live_redis=unavailable url=%s error=%r", self._safe_url(), exc)
                self._first_attempt.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._reconnect_max)
                continue
            self._first_attempt.set()
            self._log_connected(down_since)
            connected_at = loop.time()
            await self._read_until_lost(pubsub)
            down_since = loop.time()
            await self._drop_connection()
            if down_since - connected_at > self._reconnect_max:
                delay = self._reconnect_initial  # it was healthy; a flapping server is not
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max)

    def _log_connected(self, down_since: float | None) -> None:
        if down_since is None:
            log.info("live_redis=connected url=%s", self._safe_url())
            return
        log.warning(
            "live_redis=recovered after_seconds=%.1f channels=%d",
            asyncio.get_running_loop().time() - down_since,
            len(self._subscribers.channels()),
        )

    async def _read_until_lost(self, pubsub: PubSub) -> None:
        try:
            await self._read(pubsub)
        except _CONNECTION_ERRORS as exc:
            log.warning(
                "live_redis=connection_lost error=%r channels=%d",
                exc,
                len(self._subscribers.channels()),
            )
        except Exception:
            # A bug must not end live updates for the process: log it and start over.
            log.exception("live_redis=reader_failed")

    async def _connect(self) -> PubSub:
        async with self._lock:
            pubsub = self._client.pubsub()
            try:
                await pubsub.connect()  # type: ignore[no-untyped-call]  # unannotated in redis-py
                channels = self._subscribers.channels()
                if channels:
                    await pubsub.subscribe(*channels)
            except BaseException:
                await _close_quietly(pubsub)
                raise
            self._awaiting = {channel: deque([None]) for channel in channels}
            self._pubsub = pubsub
            return pubsub

    async def _read(self, pubsub: PubSub) -> None:
        loop = asyncio.get_running_loop()
        last_heard = last_ping = loop.time()
        while True:
            message = await pubsub.get_message(timeout=1.0)
            now = loop.time()
            if message is not None:
                last_heard = now
                self._handle(message)
                continue
            # Silence: a server that vanished without closing the socket looks just like a
            # quiet channel, so ask, and give up on a connection that stopped answering.
            if now - last_heard > 3 * self._ping_interval:
                raise redis.exceptions.ConnectionError(
                    f"no reply from Redis for {now - last_heard:.0f}s"
                )
            if now - last_heard > self._ping_interval and now - last_ping > self._ping_interval:
                last_ping = now
                await pubsub.ping()

    def _handle(self, message: dict[str, Any]) -> None:
        kind, channel = message.get("type"), message.get("channel")
        if not isinstance(channel, str):
            return  # pong
        if kind == "message":
            decoded = _decode(channel, message.get("data"))
            if decoded is not None:
                self._subscribers.deliver(channel, decoded)
        elif kind == "subscribe":
            self._confirmed(channel)

    def _confirmed(self, channel: str) -> None:
        waiting = self._awaiting.get(channel)
        if not waiting:
            return
        entry = waiting.popleft()
        if entry is None:
            self._subscribers.resync(channel)
        elif not entry.done():
            entry.set_result(None)

    async def _drop_connection(self) -> None:
        # Cleared before waiting for the lock, so a subscriber that gets the lock first does
        # not send on the dead connection.
        pubsub, self._pubsub = self._pubsub, None
        async with self._lock:
            # Subscribers waiting for a confirmation that will never come go on: the
            # reconnect re-subscribes their channel and resyncs them.
            for waiting in self._awaiting.values():
                for entry in waiting:
                    if entry is not None and not entry.done():
                        entry.set_result(None)
            self._awaiting = {}
            if pubsub is None:
                return
            await _close_quietly(pubsub)

    def _safe_url(self) -> str:
        return _redact(self._url)


class RedisPublisher:
    """Publishes from synchronous code (no event loop), e.g. the crawler's log forwarder
    hinting that new lines were stored. Best effort: one retry, then the error is logged and
    swallowed, because the hint is an optimisation (readers also poll) and must never stall
    or fail the caller."""

    def __init__(self, url: str, *, socket_timeout: float = 0.5) -> None:
        self._url = url
        self._client = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        self._failing = False

    def publish(self, channel: str, message: dict[str, Any]) -> bool:
        """True when Redis accepted the message."""
        payload = json.dumps(message, separators=(",", ":"))
        error: BaseException | None = None
        for _attempt in range(2):
            try:
                self._client.publish(channel, payload)
            except (RedisError, OSError) as exc:
                error = exc
                continue
            if self._failing:
                self._failing = False
                log.info("live_redis_publisher=recovered url=%s", _redact(self._url))
            return True
        if not self._failing:  # once per outage, not once per log line
            self._failing = True
            log.warning(
                "live_redis_publisher=unavailable url=%s channel=%s error=%s",
                _redact(self._url),
                channel,
                error,
            )
        return False

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RedisPublisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def _uncancellable(command: Awaitable[Any]) -> None:
    """Runs a pub/sub command in its own task. redis-py awaits `asyncio.wait_for` while
    writing, and on Python 3.11 that can swallow a cancellation racing the write: a client
    that disconnected mid-SUBSCRIBE would then keep its subscription forever. Here the
    caller's cancellation always propagates, after the command finished, so what Redis was
    sent and what we recorded agree."""
    task = asyncio.ensure_future(command)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


async def _close_quietly(pubsub: PubSub) -> None:
    with contextlib.suppress(*_CONNECTION_ERRORS):
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated in redis-py


def _decode(channel: str, data: object) -> Message | None:
    try:
        decoded = json.loads(data) if isinstance(data, str | bytes) else None
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        log.warning("live_redis=undecodable_message channel=%s", channel)
        return None
    return decoded


def _redact(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
