"""Per-subscriber queues: what a slow consumer keeps, when it is told to resume, and how
resync and close wake it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from trawl.live.subscriber_queues import (
    RESYNC,
    BoundedLog,
    LatestValue,
    QueueClosed,
    SubscriberQueue,
    SubscriberTooSlow,
)


async def test_a_slow_latest_value_consumer_sees_only_the_newest_message() -> None:
    queue = LatestValue()
    for n in range(5):
        queue.put({"n": n})
    assert len(queue) == 1
    assert await queue.get() == {"n": 4}
    assert len(queue) == 0


async def test_latest_value_get_waits_for_the_next_put() -> None:
    queue = LatestValue()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.put({"state": "RUNNING"})
    assert await asyncio.wait_for(waiting, 1) == {"state": "RUNNING"}


async def test_resync_supersedes_an_unread_value_but_not_a_later_one() -> None:
    queue = LatestValue()
    queue.put({"n": 1})
    queue.resync()
    assert await queue.get() is RESYNC
    assert len(queue) == 0
    queue.resync()
    queue.put({"n": 2})
    assert await queue.get() is RESYNC
    assert await queue.get() == {"n": 2}


async def test_bounded_log_delivers_every_message_in_order() -> None:
    queue = BoundedLog(capacity=3)
    for n in range(3):
        queue.put({"seq": n})
    assert [await queue.get() for _ in range(3)] == [{"seq": 0}, {"seq": 1}, {"seq": 2}]


async def test_bounded_log_overflow_fails_the_next_get_with_the_dropped_count() -> None:
    queue = BoundedLog(capacity=2)
    for n in range(5):
        queue.put({"seq": n})
    assert queue.overflowed
    with pytest.raises(SubscriberTooSlow) as raised:
        await queue.get()
    assert (raised.value.dropped, raised.value.capacity) == (3, 2)
    # The stream is over for this consumer: later lines are not stitched across the gap.
    queue.put({"seq": 5})
    with pytest.raises(SubscriberTooSlow):
        await queue.get()


async def test_bounded_log_overflow_wakes_a_waiting_consumer() -> None:
    queue = BoundedLog(capacity=1)
    queue.put({"seq": 0})
    assert await queue.get() == {"seq": 0}
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put({"seq": 1})
    queue.put({"seq": 2})
    with pytest.raises(SubscriberTooSlow):
        await asyncio.wait_for(waiting, 1)


async def test_bounded_log_resync_keeps_its_place_in_line_even_when_full() -> None:
    queue = BoundedLog(capacity=1)
    queue.put({"seq": 0})
    queue.resync()
    queue.resync()  # repeats collapse
    assert [await queue.get(), await queue.get()] == [{"seq": 0}, RESYNC]
    assert len(queue) == 0


@pytest.mark.parametrize("make", [LatestValue, lambda: BoundedLog(capacity=4)])
async def test_resync_wakes_a_waiting_consumer(make: Callable[[], SubscriberQueue]) -> None:
    queue = make()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.resync()
    assert await asyncio.wait_for(waiting, 1) is RESYNC


@pytest.mark.parametrize("make", [LatestValue, lambda: BoundedLog(capacity=4)])
async def test_close_wakes_a_waiting_consumer_with_end_of_stream(
    make: Callable[[], SubscriberQueue],
) -> None:
    queue = make()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.close()
    with pytest.raises(QueueClosed):
        await asyncio.wait_for(waiting, 1)
    queue.put({"late": True})
    assert len(queue) == 0


async def test_close_delivers_what_is_buffered_before_ending_iteration() -> None:
    queue = BoundedLog(capacity=4)
    queue.put({"seq": 0})
    queue.put({"seq": 1})
    queue.close()
    assert [item async for item in queue] == [{"seq": 0}, {"seq": 1}]


def test_bounded_log_needs_room_for_one_message() -> None:
    with pytest.raises(ValueError):
        BoundedLog(capacity=0)
