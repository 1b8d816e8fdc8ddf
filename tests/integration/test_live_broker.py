"""The live-update broadcasters against a real Redis: fan-out per channel, unsubscribing,
slow subscribers, several gateways on one Redis, reference-counted SUBSCRIBEs, and a Redis
restart (a private redis-server this test kills and starts again).

Absence of a message is checked without sleeping: Redis delivers one publisher's messages in
order, so once a later marker message arrived, an earlier one that was due would have too."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from trawl.config import Settings
from trawl.live.broker import (
    Broadcaster,
    BroadcastUnavailable,
    InProcessBroadcaster,
    create_broadcaster,
)
from trawl.live.channels import run_channel, run_logs_channel
from trawl.live.redis_broker import RedisBroadcaster, RedisPublisher
from trawl.live.subscriber_queues import (
    RESYNC,
    BoundedLog,
    Delivery,
    LatestValue,
    QueueClosed,
    SubscriberQueue,
    SubscriberTooSlow,
)

REDIS_URL_ENV = "TRAWL_TEST_REDIS_URL"
ALLOW_NO_REDIS_ENV = "TRAWL_ALLOW_NO_REDIS"
WAIT = 10.0  # seconds any single expected delivery may take before the test fails


def require_redis_url() -> str:
    """The shared test Redis (scripts/test.sh); fails the test when it is missing, or skips it
    when TRAWL_ALLOW_NO_REDIS=1 (the pattern of tests/servers.py)."""
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if url:
        return url
    reason = (
        f"{REDIS_URL_ENV} is not set: run the tests with scripts/test.sh, or start the server "
        f"with `bash scripts/redis.sh start` and export {REDIS_URL_ENV}=$(bash scripts/redis.sh url)"
    )
    if os.environ.get(ALLOW_NO_REDIS_ENV) == "1":
        pytest.skip(f"{reason} ({ALLOW_NO_REDIS_ENV}=1)")
    pytest.fail(f"{reason}; set {ALLOW_NO_REDIS_ENV}=1 to skip these tests instead")


def fresh_channel() -> str:
    return run_channel(uuid.uuid4().hex)


async def next_delivery(queue: SubscriberQueue) -> Delivery:
    return await asyncio.wait_for(queue.get(), WAIT)


async def wait_for_numsub(gateway: RedisBroadcaster, channel: str, expected: int) -> None:
    """UNSUBSCRIBE is not awaited by the broadcaster, so the server catches up shortly."""
    async with asyncio.timeout(WAIT):
        while True:
            if await gateway.subscriber_count(channel) == expected:
                return
            await asyncio.sleep(0.02)


@pytest.fixture(params=["in-process", "redis"])
async def broadcaster(request: pytest.FixtureRequest) -> AsyncIterator[Broadcaster]:
    created: Broadcaster = (
        InProcessBroadcaster()
        if request.param == "in-process"
        else RedisBroadcaster(require_redis_url())
    )
    await created.start()
    yield created
    await created.close()


@pytest.fixture
async def redis_gateways() -> AsyncIterator[tuple[RedisBroadcaster, RedisBroadcaster]]:
    url = require_redis_url()
    first, second = RedisBroadcaster(url), RedisBroadcaster(url)
    await first.start()
    await second.start()
    yield first, second
    await first.close()
    await second.close()


async def test_publish_reaches_every_subscriber_of_its_channel_and_no_other(
    broadcaster: Broadcaster,
) -> None:
    channel, other = fresh_channel(), fresh_channel()
    async with (
        broadcaster.subscribe(channel, BoundedLog(10)) as one,
        broadcaster.subscribe(channel, LatestValue()) as two,
        broadcaster.subscribe(other, BoundedLog(10)) as elsewhere,
    ):
        await broadcaster.publish(channel, {"state": "RUNNING"})
        await broadcaster.publish(other, {"marker": True})
        assert await next_delivery(one) == {"state": "RUNNING"}
        assert await next_delivery(two) == {"state": "RUNNING"}
        assert await next_delivery(elsewhere) == {"marker": True}
        assert len(one) == len(two) == len(elsewhere) == 0


async def test_leaving_a_subscription_stops_delivery_to_it(broadcaster: Broadcaster) -> None:
    channel = fresh_channel()
    left = BoundedLog(10)
    async with broadcaster.subscribe(channel, left):
        await broadcaster.publish(channel, {"n": 1})
        assert await next_delivery(left) == {"n": 1}
    async with broadcaster.subscribe(channel, BoundedLog(10)) as stayed:
        await broadcaster.publish(channel, {"n": 2})
        assert await next_delivery(stayed) == {"n": 2}
    assert len(left) == 0


async def test_a_subscriber_that_never_reads_does_not_hold_back_a_fast_one(
    broadcaster: Broadcaster,
) -> None:
    channel, count = fresh_channel(), 200

    async def read_all(queue: SubscriberQueue) -> list[Delivery]:
        return [await queue.get() for _ in range(count)]

    async with (
        broadcaster.subscribe(channel, LatestValue()) as slow_state,
        broadcaster.subscribe(channel, BoundedLog(5)) as slow_log,
        broadcaster.subscribe(channel, BoundedLog(count)) as fast,
    ):
        reader = asyncio.create_task(read_all(fast))
        for n in range(count):
            await broadcaster.publish(channel, {"n": n})
        received = await asyncio.wait_for(reader, WAIT)
        assert received == [{"n": n} for n in range(count)]
        assert len(slow_state) == 1
        assert await slow_state.get() == {"n": count - 1}
        with pytest.raises(SubscriberTooSlow) as raised:
            await slow_log.get()
        assert raised.value.dropped == count - 5


async def test_closing_the_broadcaster_ends_every_subscriber_stream(
    broadcaster: Broadcaster,
) -> None:
    queue = LatestValue()
    async with broadcaster.subscribe(fresh_channel(), queue):
        waiting = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        await broadcaster.close()
        with pytest.raises(QueueClosed):
            await asyncio.wait_for(waiting, WAIT)


async def test_a_payload_json_cannot_carry_is_refused(broadcaster: Broadcaster) -> None:
    with pytest.raises(TypeError):
        await broadcaster.publish(fresh_channel(), {"when": object()})


def test_the_settings_choose_the_broadcaster() -> None:
    assert isinstance(create_broadcaster(Settings(redis_url="")), InProcessBroadcaster)
    assert isinstance(
        create_broadcaster(Settings(redis_url="redis://127.0.0.1:1/0")), RedisBroadcaster
    )


async def test_a_publish_on_one_gateway_reaches_subscribers_on_the_other(
    redis_gateways: tuple[RedisBroadcaster, RedisBroadcaster],
) -> None:
    first, second = redis_gateways
    channel = run_logs_channel(uuid.uuid4().hex)
    async with (
        first.subscribe(channel, BoundedLog(10)) as on_first,
        second.subscribe(channel, BoundedLog(10)) as on_second,
    ):
        await first.publish(channel, {"seq": 1})
        await second.publish(channel, {"seq": 2})
        for queue in (on_first, on_second):
            assert [await next_delivery(queue), await next_delivery(queue)] == [
                {"seq": 1},
                {"seq": 2},
            ]


async def test_a_channel_is_subscribed_once_per_gateway_while_it_has_local_subscribers(
    redis_gateways: tuple[RedisBroadcaster, RedisBroadcaster],
) -> None:
    gateway, publisher = redis_gateways
    channel = fresh_channel()
    stays = BoundedLog(10)
    async with gateway.subscribe(channel, stays):
        async with gateway.subscribe(channel, BoundedLog(10)):
            assert await publisher.subscriber_count(channel) == 1
        await publisher.publish(channel, {"n": 1})
        assert await next_delivery(stays) == {"n": 1}
        assert await publisher.subscriber_count(channel) == 1
    await wait_for_numsub(publisher, channel, 0)


async def test_a_subscriber_cancelled_while_subscribing_leaves_nothing_behind(
    redis_gateways: tuple[RedisBroadcaster, RedisBroadcaster],
) -> None:
    gateway, _ = redis_gateways
    channel = fresh_channel()
    abandoned = LatestValue()

    async def subscribe_and_hold() -> None:
        async with gateway.subscribe(channel, abandoned):
            await asyncio.Event().wait()

    holder = asyncio.create_task(subscribe_and_hold())
    await asyncio.sleep(0)  # inside the SUBSCRIBE round trip
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    await wait_for_numsub(gateway, channel, 0)
    async with gateway.subscribe(channel, LatestValue()) as fresh:
        await gateway.publish(channel, {"n": 1})
        assert await next_delivery(fresh) == {"n": 1}
    assert len(abandoned) == 0


async def test_the_sync_publisher_reaches_async_subscribers(
    redis_gateways: tuple[RedisBroadcaster, RedisBroadcaster],
) -> None:
    gateway, _ = redis_gateways
    channel = run_logs_channel(uuid.uuid4().hex)
    async with gateway.subscribe(channel, BoundedLog(10)) as logs:
        with RedisPublisher(require_redis_url()) as publisher:
            # A thread, as the crawler's forwarder calls it: it must not block this loop.
            assert await asyncio.to_thread(publisher.publish, channel, {"seq": 3})
        assert await next_delivery(logs) == {"seq": 3}


async def test_the_sync_publisher_swallows_an_unreachable_redis() -> None:
    with RedisPublisher(f"redis://127.0.0.1:{_free_port()}/0") as publisher:
        assert not await asyncio.to_thread(publisher.publish, fresh_channel(), {"seq": 1})


# -- Redis restart ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_server_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/sbin/redis-server" if Path("/usr/sbin/redis-server").exists() else None
    )
    if found is None:
        pytest.fail("redis-server not found: run scripts/setup.sh")
    return found


class PrivateRedis:
    """A redis-server this test owns, so it can kill and restart it (the shared one stays)."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            _redis_server_binary(),
            "--port", str(self.port), "--bind", "127.0.0.1", "--protected-mode", "yes",
            "--save", "", "--appendonly", "no", "--dir", str(self._directory),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.asyncio.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            async with asyncio.timeout(WAIT):
                while True:
                    if self._process.returncode is not None:
                        pytest.fail(f"redis-server exited with {self._process.returncode}")
                    try:
                        if await client.ping():
                            return
                    except (redis.exceptions.ConnectionError, OSError):
                        await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def kill(self) -> None:
        """SIGKILL: no goodbye to clients, as in a crash."""
        if self._process is None or self._process.returncode is not None:
            return
        self._process.send_signal(signal.SIGKILL)
        await self._process.wait()


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    await server.start()
    yield server
    await server.kill()


async def test_after_a_redis_restart_subscribers_are_resynced_and_deliveries_resume(
    private_redis: PrivateRedis,
) -> None:
    gateway = RedisBroadcaster(private_redis.url)
    await gateway.start()
    state_channel, log_channel, late_channel = fresh_channel(), fresh_channel(), fresh_channel()
    try:
        async with (
            gateway.subscribe(state_channel, LatestValue()) as state,
            gateway.subscribe(log_channel, BoundedLog(10)) as logs,
        ):
            await gateway.publish(state_channel, {"state": "RUNNING"})
            assert await next_delivery(state) == {"state": "RUNNING"}

            await private_redis.kill()
            with pytest.raises(BroadcastUnavailable):
                await gateway.publish(state_channel, {"state": "SUCCEEDED"})
            # Subscribing while Redis is down neither fails nor hangs: it catches up later.
            async with gateway.subscribe(late_channel, LatestValue()) as late:
                await private_redis.start()  # same port, empty server

                for queue in (state, logs, late):
                    assert await next_delivery(queue) is RESYNC
                for channel in (state_channel, log_channel, late_channel):
                    assert await gateway.subscriber_count(channel) == 1
                await gateway.publish(state_channel, {"state": "SUCCEEDED"})
                await gateway.publish(log_channel, {"seq": 7})
                await gateway.publish(late_channel, {"state": "QUEUED"})
                assert await next_delivery(state) == {"state": "SUCCEEDED"}
                assert await next_delivery(logs) == {"seq": 7}
                assert await next_delivery(late) == {"state": "QUEUED"}
    finally:
        await gateway.close()


async def test_a_gateway_started_before_redis_subscribes_and_resyncs_once_it_is_up(
    tmp_path: Path,
) -> None:
    server = PrivateRedis(tmp_path)  # not started yet
    gateway = RedisBroadcaster(server.url)
    await asyncio.wait_for(gateway.start(), WAIT)  # does not wait for Redis to come up
    channel = fresh_channel()
    try:
        async with gateway.subscribe(channel, LatestValue()) as state:
            await server.start()
            assert await next_delivery(state) is RESYNC
            await gateway.publish(channel, {"state": "RUNNING"})
            assert await next_delivery(state) == {"state": "RUNNING"}
    finally:
        await gateway.close()
        await server.kill()
