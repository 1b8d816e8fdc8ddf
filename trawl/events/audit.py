"""The audit log: every domain event of an organization, kept in DynamoDB and read newest first.

One partition per organization (`organization_id`), sorted by `sort_key` =
"<occurred_at, fixed-width ISO UTC>#<event_id>", so a Query walks one tenant's history in
time order and can never reach another tenant's items. Writing is a put keyed by the event,
so a redelivered event overwrites itself. Filters run server-side, but DynamoDB applies Limit
before FilterExpression, so a page is filled by continuing the Query; the cursor is the key
of the last entry returned (not DynamoDB's last evaluated key, which may lie beyond it)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from trawl.config import Settings
from trawl.domain.errors import InvalidInput
from trawl.events.aws import aws_client, ensure_table
from trawl.events.envelope import DomainEvent
from trawl.events.key_cursor import decode_cursor, encode_cursor

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so strings sort as times do
_SORT_KEY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#.{1,255}")
_MIN_SCAN_LIMIT = 50


def _format_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime in an audit entry")
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


def _parse_time(value: str) -> datetime:
    return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)


def sort_key(occurred_at: datetime, event_id: str) -> str:
    return f"{_format_time(occurred_at)}#{event_id}"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    event_id: str
    type: str
    organization_id: str
    occurred_at: datetime
    actor_kind: str
    actor_id: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def cursor(self) -> str:
        """Opaque: resumes a listing right after this entry."""
        return encode_cursor(sort_key(self.occurred_at, self.event_id))


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    has_next: bool
    end_cursor: str | None


class AuditLog:
    """Reads and writes the audit table; boto3 calls run in worker threads."""

    def __init__(
        self, settings: Settings, client: Any = None, *, scan_limit: int = _MIN_SCAN_LIMIT
    ) -> None:
        self._settings = settings
        self._table = settings.audit_table
        self._client = client or aws_client(settings, "dynamodb")
        # Items evaluated per Query call when filtering (filters may drop most of them).
        self._scan_limit = max(1, scan_limit)

    async def ensure_table(self) -> None:
        """Create the table if missing and wait until it is usable; safe to race."""
        await asyncio.to_thread(self._ensure_table)

    async def record(self, event: DomainEvent) -> None:
        """Store the event; again with the same event is a no-op. Org-less events are skipped
        (no tenant to show them to)."""
        if event.organization_id is None:
            return
        item = _item(event, event.organization_id)
        await asyncio.to_thread(self._client.put_item, TableName=self._table, Item=item)

    def _ensure_table(self) -> None:
        ensure_table(self._client, self._table, "organization_id", "sort_key")

    def _query(
        self,
        organization_id: str,
        need: int,
        before: str | None,
        event_type: str | None,
        actor_id: str | None,
    ) -> list[dict[str, Any]]:
        request = _query_request(self._table, organization_id, before, event_type, actor_id)
        filtered = "FilterExpression" in request
        items: list[dict[str, Any]] = []
        while len(items) < need:
            limit = max(need - len(items), self._scan_limit) if filtered else need - len(items)
            reply = self._client.query(**request, Limit=limit)
            items.extend(reply.get("Items") or [])
            if "LastEvaluatedKey" not in reply:
                break
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return items[:need]

    # Last in the class: above it, `list[...]` in annotations would name this method.
    async def list(
        self,
        organization_id: str,
        first: int,
        after: str | None = None,
        event_type: str | None = None,
        actor_id: str | None = None,
    ) -> AuditPage:
        """Up to `first` entries of one organization, newest first, after the cursor."""
        if first < 1:
            raise InvalidInput("first", "must be at least 1")
        before = decode_cursor(after, _SORT_KEY) if after is not None else None
        items = await asyncio.to_thread(
            self._query, organization_id, first + 1, before, event_type, actor_id
        )
        entries = [_entry(item) for item in items[:first]]
        return AuditPage(
            entries=entries,
            has_next=len(items) > first,
            end_cursor=entries[-1].cursor if entries else None,
        )


def _query_request(
    table: str,
    organization_id: str,
    before: str | None,
    event_type: str | None,
    actor_id: str | None,
) -> dict[str, Any]:
    condition = "organization_id = :org"
    values: dict[str, Any] = {":org": {"S": organization_id}}
    if before is not None:
        # Newest first, so "after the cursor" means an older sort key.
        condition += " AND sort_key < :before"
        values[":before"] = {"S": before}
    filters: list[str] = []
    names: dict[str, str] = {}
    if event_type is not None:
        filters.append("#type = :type")
        names["#type"] = "event_type"
        values[":type"] = {"S": event_type}
    if actor_id is not None:
        filters.append("#actor = :actor")
        names["#actor"] = "actor_id"
        values[":actor"] = {"S": actor_id}
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }
    if filters:
        request["FilterExpression"] = " AND ".join(filters)
        request["ExpressionAttributeNames"] = names
    return request


def _item(event: DomainEvent, organization_id: str) -> dict[str, Any]:
    return {
        "organization_id": {"S": organization_id},
        "sort_key": {"S": sort_key(event.occurred_at, event.event_id)},
        "event_id": {"S": event.event_id},
        "event_type": {"S": event.type},
        "occurred_at": {"S": _format_time(event.occurred_at)},
        "actor_kind": {"S": event.actor_kind},
        "actor_id": {"S": event.actor_id},
        # A JSON string, not a DynamoDB map: numbers and nesting come back exactly as sent.
        "data": {"S": json.dumps(event.data, separators=(",", ":"), sort_keys=True)},
    }


def _entry(item: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        event_id=item["event_id"]["S"],
        type=item["event_type"]["S"],
        organization_id=item["organization_id"]["S"],
        occurred_at=_parse_time(item["occurred_at"]["S"]),
        actor_kind=item["actor_kind"]["S"],
        actor_id=item["actor_id"]["S"],
        data=json.loads(item["data"]["S"]),
    )
