"""The event path out of the database against a real moto server: outbox rows → relay →
EventBridge bus → rule → SQS queue → poller. Runs on SQLite, and on MariaDB too when
TRAWL_TEST_MARIADB_URL is set (that is where SKIP LOCKED matters)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.servers import create_database, drop_database, require_mariadb_url
from tests.support.moto import MotoServer, aws_settings, free_port
from trawl.config import Settings
from trawl.domain.db import Database
from trawl.domain.outbox import OutboxEvent, record_event
from trawl.events.aws import aws_client
from trawl.events.bus import dead_letter_queue_name, ensure_event_routing
from trawl.events.envelope import DomainEvent
from trawl.events.poller import SqsPoller
from trawl.events.relay import BusUnavailable, OutboxRelay


@dataclass
class Outbox:
    db: Database
    url: str
    backend: str


async def _outbox_database(url: str) -> Database:
    db = Database.from_url(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(OutboxEvent.__table__.create)
    return db


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
async def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Outbox]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"
        db = await _outbox_database(url)
        yield Outbox(db, url, "sqlite")
        await db.dispose()
        return
    # Like every MariaDB test: a missing server fails (skips only with TRAWL_ALLOW_NO_MARIADB=1).
    base = require_mariadb_url()
    name = f"trawl_outbox_{uuid.uuid4().hex[:10]}"
    url = await create_database(base, name)
    db = await _outbox_database(url)
    yield Outbox(db, url, "mariadb")
    await db.dispose()
    await drop_database(base, name)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = await _outbox_database(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    yield db
    await db.dispose()


async def write_events(db: Database, count: int, org: str | None = "org-a") -> list[str]:
    async with db.transaction() as session:
        rows = [
            record_event(
                session,
                "report.created",
                org,
                {"n": i, "name": f"réport {i}", "nested": {"ratio": 0.5, "tags": ["a", "b"]}},
                actor_kind="user",
                actor_id="auth0|alice",
            )
            for i in range(count)
        ]
    return [row.id for row in rows]


async def outbox_rows(db: Database) -> list[OutboxEvent]:
    async with db.transaction() as session:
        return list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all())


async def drain(settings: Settings, queue_url: str) -> list[dict[str, Any]]:
    """Every message now in the queue (moto routes during PutEvents), as parsed bodies."""
    sqs = aws_client(settings, "sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        reply = await asyncio.to_thread(
            sqs.receive_message, QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        messages = reply.get("Messages") or []
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def queue_depth(settings: Settings, queue_url: str) -> int:
    attributes = aws_client(settings, "sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


async def wait_until(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def all_sent(db: Database) -> bool:
    return all(row.sent_at is not None for row in await outbox_rows(db))


def received_ids(bodies: list[dict[str, Any]]) -> Counter[str]:
    return Counter(DomainEvent.from_eventbridge(body).event_id for body in bodies)


class SwitchableEvents:
    """An EventBridge client whose endpoint the test swaps: down, then up."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def put_events(self, **kwargs: Any) -> Any:
        return self.client.put_events(**kwargs)


async def test_committed_events_reach_the_queue_intact_and_rolled_back_ones_never(
    outbox: Outbox, moto_server: MotoServer, tmp_path: Path
) -> None:
    settings = aws_settings(moto_server.endpoint, tmp_path)
    queue_url = await ensure_event_routing(settings)
    ids = await write_events(outbox.db, 3) + await write_events(outbox.db, 1, org=None)
    with pytest.raises(RuntimeError):
        async with outbox.db.transaction() as session:
            record_event(session, "report.deleted", "org-a", {}, actor_kind="user", actor_id="u")
            await session.flush()
            raise RuntimeError("the change failed, so its event must not exist")
    # Another source on the same bus: the rule must not route it to our queue.
    aws_client(settings, "events").put_events(
        Entries=[
            {
                "Source": "someone-else",
                "DetailType": "x",
                "Detail": "{}",
                "EventBusName": settings.event_bus_name,
            }
        ]
    )

    relay = OutboxRelay(outbox.db, settings)
    assert await relay.publish_pending() == 4
    assert await relay.publish_pending() == 0

    bodies = await drain(settings, queue_url)
    rows = {row.id: row for row in await outbox_rows(outbox.db)}
    assert set(rows) == set(ids)
    assert all(row.sent_at is not None and row.attempts == 0 for row in rows.values())
    assert sorted(received_ids(bodies)) == sorted(ids)
    for body in bodies:
        event = DomainEvent.from_eventbridge(body)
        assert event == rows[event.event_id].to_event()
        assert body["source"] == settings.event_source
        assert body["detail-type"] == "report.created"


async def test_entries_the_bus_rejects_stay_unsent_and_do_not_hold_up_the_rest(
    outbox: Outbox, moto_server: MotoServer, tmp_path: Path
) -> None:
    settings = aws_settings(moto_server.endpoint, tmp_path)
    queue_url = await ensure_event_routing(settings)
    # EventBridge refuses an empty detail-type; the relay itself refuses > 256 KiB (an outbox
    # `data` that large fits SQLite's TEXT, not MariaDB's, which stops at 64 KiB).
    payloads = {"": {}, "big": {"b": "x" * 300_000}} if outbox.backend == "sqlite" else {"": {}}
    async with outbox.db.transaction() as session:
        bad = {
            type_: record_event(session, type_, "org-a", data, actor_kind="user", actor_id="u")
            for type_, data in payloads.items()
        }
    ids = await write_events(outbox.db, 3)

    relay = OutboxRelay(outbox.db, settings)
    assert await relay.publish_pending() == 3
    assert await relay.publish_pending() == 0  # held back for a while, not retried hot
    rows = {row.id: row for row in await outbox_rows(outbox.db)}
    errors = {"": "InvalidArgument", "big": "EntryTooLarge"}
    for type_, written in bad.items():
        row = rows[written.id]
        assert row.sent_at is None and row.attempts == 1
        assert (row.last_error or "").startswith(errors[type_])
    assert received_ids(await drain(settings, queue_url)) == Counter(ids)


async def test_events_written_while_moto_is_down_wait_and_arrive_once_it_is_back(
    outbox: Outbox, tmp_path: Path
) -> None:
    server = MotoServer()  # our own: stopping the session's would disturb other tests
    server.start()
    try:
        settings = aws_settings(server.endpoint, tmp_path)
        await ensure_event_routing(settings)
        relay = OutboxRelay(outbox.db, settings)
        server.stop()

        ids = await write_events(outbox.db, 12)
        for _ in range(2):
            with pytest.raises(BusUnavailable):
                await relay.publish_pending()
        rows = await outbox_rows(outbox.db)
        assert [row.id for row in rows] == sorted(ids)
        assert all(row.sent_at is None for row in rows)
        tried = [row for row in rows if row.attempts]
        assert len(tried) == settings.outbox_batch_size
        assert all(row.attempts == 2 and "connect" in (row.last_error or "") for row in tried)

        server.start()  # moto forgets everything: routing first, as a start-up would
        queue_url = await ensure_event_routing(settings)
        while await relay.publish_pending():
            pass
        assert await all_sent(outbox.db)
        assert received_ids(await drain(settings, queue_url)) == Counter(ids)
    finally:
        server.stop()


async def test_relay_loop_backs_off_while_the_bus_is_unreachable_and_recovers(
    outbox: Outbox, moto_server: MotoServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trawl.events.relay")
    settings = aws_settings(moto_server.endpoint, tmp_path)
    queue_url = await ensure_event_routing(settings)
    closed = settings.model_copy(update={"aws_endpoint_url": f"http://127.0.0.1:{free_port()}"})
    events = SwitchableEvents(aws_client(closed, "events"))
    relay = OutboxRelay(outbox.db, settings, client=events)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))

    ids = await write_events(outbox.db, 5)
    relay.wake()

    async def failed_three_times() -> bool:
        return caplog.text.count("outbox_relay=publish_failed") >= 3

    await wait_until(failed_three_times)
    ids += await write_events(outbox.db, 5)
    events.client = aws_client(settings, "events")
    await wait_until(lambda: all_sent(outbox.db))
    stop.set()
    await asyncio.wait_for(task, 5)

    assert received_ids(await drain(settings, queue_url)) == Counter(ids)
    failures = [r.getMessage() for r in caplog.records if "publish_failed" in r.getMessage()]
    delays = [float(line.split("retry_in=")[1].split()[0]) for line in failures]
    assert delays == sorted(delays) and max(delays) <= settings.outbox_retry_max_seconds
    assert caplog.text.count("outbox_relay=recovered") == 1


async def test_two_relays_at_once_publish_every_event(
    outbox: Outbox, moto_server: MotoServer, tmp_path: Path
) -> None:
    settings = aws_settings(moto_server.endpoint, tmp_path)
    queue_url = await ensure_event_routing(settings)
    second_db = Database.from_url(outbox.url)  # as if another process
    relays = [OutboxRelay(outbox.db, settings), OutboxRelay(second_db, settings)]
    ids = await write_events(outbox.db, 40)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
    for _ in range(4):  # and keep writing while both relays run
        ids += await write_events(outbox.db, 10)
        await asyncio.sleep(0.02)
    await wait_until(lambda: all_sent(outbox.db))
    stop.set()
    await asyncio.gather(*tasks)
    await second_db.dispose()

    counts = received_ids(await drain(settings, queue_url))
    assert set(counts) == set(ids), "an event was lost"
    duplicates = sum(count - 1 for count in counts.values())
    print(f"\ntwo relays backend={outbox.backend} events={len(ids)} duplicates={duplicates}")
    # At least once is the contract; with no crash in between, each row goes out once:
    # MariaDB by SKIP LOCKED, SQLite by the relays taking turns on the file lock.
    assert duplicates == 0


async def test_event_routing_is_idempotent_and_safe_to_race(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    settings = aws_settings(moto_server.endpoint, tmp_path)
    urls = await asyncio.gather(*(ensure_event_routing(settings) for _ in range(4)))
    urls.append(await ensure_event_routing(settings))
    assert len(set(urls)) == 1

    events = aws_client(settings, "events")
    targets = events.list_targets_by_rule(
        Rule=settings.event_rule_name, EventBusName=settings.event_bus_name
    )["Targets"]
    assert len(targets) == 1
    rule = events.describe_rule(Name=settings.event_rule_name, EventBusName=settings.event_bus_name)
    assert json.loads(rule["EventPattern"]) == {"source": [settings.event_source]}
    redrive = aws_client(settings, "sqs").get_queue_attributes(
        QueueUrl=urls[0], AttributeNames=["RedrivePolicy"]
    )["Attributes"]["RedrivePolicy"]
    assert int(json.loads(redrive)["maxReceiveCount"]) == settings.event_max_receives


async def test_poller_redelivers_an_event_whose_handler_failed(
    sqlite_db: Database, moto_server: MotoServer, tmp_path: Path
) -> None:
    settings = aws_settings(moto_server.endpoint, tmp_path)
    queue_url = await ensure_event_routing(settings)
    ids = await write_events(sqlite_db, 4)
    await OutboxRelay(sqlite_db, settings).publish_pending()
    calls: Counter[str] = Counter()
    handled: set[str] = set()

    async def handle(event: DomainEvent) -> None:
        calls[event.event_id] += 1
        if event.event_id == ids[1] and calls[event.event_id] == 1:
            raise RuntimeError("temporal not reachable yet")
        handled.add(event.event_id)

    poller = SqsPoller(settings, queue_url, handle, retry_base_seconds=1)
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))

    async def all_handled() -> bool:
        return handled == set(ids)

    await wait_until(all_handled)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert calls == Counter({ids[0]: 1, ids[1]: 2, ids[2]: 1, ids[3]: 1})
    assert queue_depth(settings, queue_url) == 0


async def test_poller_drops_malformed_messages_without_blocking_the_queue(
    sqlite_db: Database, moto_server: MotoServer, tmp_path: Path
) -> None:
    settings = aws_settings(moto_server.endpoint, tmp_path)
    queue_url = await ensure_event_routing(settings)
    sqs = aws_client(settings, "sqs")
    for body in ("not json", '{"detail": "no object"}', '{"detail": {"eventId": "x"}}'):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    ids = await write_events(sqlite_db, 3)
    await OutboxRelay(sqlite_db, settings).publish_pending()
    handled: list[str] = []

    async def handle(event: DomainEvent) -> None:
        handled.append(event.event_id)

    poller = SqsPoller(settings, queue_url, handle)
    while await poller.poll_once():
        pass
    assert sorted(handled) == sorted(ids)
    assert queue_depth(settings, queue_url) == 0
    dlq_url = sqs.get_queue_url(QueueName=dead_letter_queue_name(settings))["QueueUrl"]
    assert queue_depth(settings, dlq_url) == 0


async def test_an_event_that_always_fails_ends_in_the_dead_letter_queue(
    sqlite_db: Database, moto_server: MotoServer, tmp_path: Path
) -> None:
    settings = aws_settings(moto_server.endpoint, tmp_path, event_max_receives=5)
    queue_url = await ensure_event_routing(settings)
    await write_events(sqlite_db, 1)
    await OutboxRelay(sqlite_db, settings).publish_pending()
    calls = 0

    async def handle(event: DomainEvent) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("a bug in the handler")

    poller = SqsPoller(settings, queue_url, handle, retry_base_seconds=0)
    dlq_url = aws_client(settings, "sqs").get_queue_url(QueueName=dead_letter_queue_name(settings))[
        "QueueUrl"
    ]
    for _ in range(20):
        await poller.poll_once()
        if queue_depth(settings, dlq_url):
            break
    assert calls == 5
    assert queue_depth(settings, dlq_url) == 1
    assert queue_depth(settings, queue_url) == 0


async def test_poller_backs_off_while_sqs_is_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="trawl.events.poller")
    settings = aws_settings(f"http://127.0.0.1:{free_port()}", tmp_path)

    async def handle(event: DomainEvent) -> None:
        raise AssertionError("nothing to receive")

    poller = SqsPoller(settings, "http://127.0.0.1:1/queue/none", handle)
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    await asyncio.sleep(0.8)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert caplog.text.count("event_poller=receive_failed") >= 2
