"""The DynamoDB audit log against a real moto server: idempotent records, newest-first pages
whose cursors resume without gaps or repeats (filters included), and tenant isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.moto import MotoServer, aws_settings
from trawl.domain.errors import InvalidInput
from trawl.events.audit import AuditEntry, AuditLog
from trawl.events.envelope import DomainEvent
from trawl.events.key_cursor import encode_cursor

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def make_log(moto_server: MotoServer, tmp_path: Path, scan_limit: int = 50) -> AuditLog:
    audit = AuditLog(aws_settings(moto_server.endpoint, tmp_path), scan_limit=scan_limit)
    await audit.ensure_table()
    await audit.ensure_table()  # a second start finds it and carries on
    return audit


def event(
    org: str | None,
    seconds: float,
    type_: str = "report.created",
    actor: str = "auth0|alice",
    **data: object,
) -> DomainEvent:
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        type=type_,
        organization_id=org,
        occurred_at=T0 + timedelta(seconds=seconds),
        actor_kind="user",
        actor_id=actor,
        data=dict(data),
    )


def newest_first(events: list[DomainEvent]) -> list[str]:
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.event_id), reverse=True)
    return [e.event_id for e in ordered]


async def walk(audit: AuditLog, org: str, first: int, **filters: str) -> list[list[AuditEntry]]:
    """Every page of a listing, following end cursors."""
    pages: list[list[AuditEntry]] = []
    after: str | None = None
    while True:
        page = await audit.list(org, first, after=after, **filters)
        pages.append(page.entries)
        if not page.has_next:
            return pages
        assert page.end_cursor == page.entries[-1].cursor
        after = page.end_cursor


async def test_recording_an_event_twice_keeps_one_entry_with_its_data_intact(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    audit = await make_log(moto_server, tmp_path)
    recorded = event("org-a", 0.000001, name="réport", limits={"pages": 10, "ratio": 0.25})
    await audit.record(recorded)
    await audit.record(recorded)  # redelivered by the queue
    await audit.record(event(None, 1))  # no tenant: not kept

    page = await audit.list("org-a", 10)
    assert page.has_next is False
    assert page.entries == [
        AuditEntry(
            event_id=recorded.event_id,
            type="report.created",
            organization_id="org-a",
            occurred_at=recorded.occurred_at,
            actor_kind="user",
            actor_id="auth0|alice",
            data={"name": "réport", "limits": {"pages": 10, "ratio": 0.25}},
        )
    ]
    assert page.entries[0].occurred_at.tzinfo is not None


async def test_pages_run_newest_first_and_cursors_resume_without_gaps_or_repeats(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    audit = await make_log(moto_server, tmp_path)
    # Pairs share a timestamp: the event id breaks the tie, so the order is still total.
    events = [event("org-a", i // 2) for i in range(23)]
    for recorded in events:
        await audit.record(recorded)

    pages = await walk(audit, "org-a", 5)
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert [e.event_id for page in pages for e in page] == newest_first(events)


async def test_filters_by_type_and_actor_fill_pages_across_queries(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    # scan_limit=3: each Query evaluates few items, so pages need several queries, and a
    # query can return more matches than the page has room for (the cursor must not skip them).
    audit = await make_log(moto_server, tmp_path, scan_limit=3)
    types = ["report.created", "run.started", "run.finished"]
    actors = ["auth0|alice", "auth0|bob"]
    events = [event("org-a", i, types[i % 3], actors[i % 2]) for i in range(36)]
    for recorded in events:
        await audit.record(recorded)

    runs_started = [e for e in events if e.type == "run.started"]
    pages = await walk(audit, "org-a", 4, event_type="run.started")
    assert [len(page) for page in pages] == [4, 4, 4]
    assert [e.event_id for page in pages for e in page] == newest_first(runs_started)

    bobs = [e for e in events if e.actor_id == "auth0|bob"]
    pages = await walk(audit, "org-a", 7, actor_id="auth0|bob")
    assert [e.event_id for page in pages for e in page] == newest_first(bobs)

    both = [e for e in bobs if e.type == "run.finished"]
    pages = await walk(audit, "org-a", 2, event_type="run.finished", actor_id="auth0|bob")
    assert [e.event_id for page in pages for e in page] == newest_first(both)
    assert (await audit.list("org-a", 5, event_type="no.such.type")).entries == []


async def test_a_malformed_cursor_is_invalid_input(moto_server: MotoServer, tmp_path: Path) -> None:
    audit = await make_log(moto_server, tmp_path)
    not_ours = [
        "",
        "%%%",
        "bm90IGpzb24",  # base64 of "not json"
        "WzFd",  # base64 of [1]
        encode_cursor("2025-03-01 12:00:00#x"),  # our shape, not our key format
    ]
    for cursor in not_ours:
        with pytest.raises(InvalidInput) as caught:
            await audit.list("org-a", 5, after=cursor)
        assert caught.value.field == "after"
    with pytest.raises(InvalidInput):
        await audit.list("org-a", 0)


async def test_an_organization_never_sees_another_organizations_entries(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    audit = await make_log(moto_server, tmp_path)
    mine = [event("org-a", i) for i in range(0, 12, 2)]
    theirs = [event("org-b", i) for i in range(1, 12, 2)]
    for recorded in mine + theirs:
        await audit.record(recorded)

    pages = await walk(audit, "org-a", 4)
    assert [e.event_id for page in pages for e in page] == newest_first(mine)
    assert {e.organization_id for page in pages for e in page} == {"org-a"}
    # A cursor taken from org-b's listing only positions within org-a's history.
    their_cursor = (await audit.list("org-b", 2)).end_cursor
    page = await audit.list("org-a", 10, after=their_cursor)
    assert page.entries and {e.organization_id for e in page.entries} == {"org-a"}
