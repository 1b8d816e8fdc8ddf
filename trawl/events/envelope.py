"""The one shape of a domain event, from the outbox row to the EventBridge `detail` and back.

EventBridge delivers `{"source", "detail-type", "detail", ...}` to a Lambda and, through a
rule target, as the body of an SQS message; `from_eventbridge` reads both."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class DomainEvent:
    event_id: str
    type: str
    organization_id: str | None
    occurred_at: datetime
    actor_kind: str  # "user" | "machine" | "system" | "schedule"
    actor_id: str
    data: dict[str, Any] = field(default_factory=dict)

    def detail(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "type": self.type,
            "organizationId": self.organization_id,
            "occurredAt": self.occurred_at.isoformat(),
            "actor": {"kind": self.actor_kind, "id": self.actor_id},
            "data": self.data,
        }

    def detail_json(self) -> str:
        return json.dumps(self.detail(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_detail(cls, detail: dict[str, Any]) -> DomainEvent:
        actor = detail.get("actor") or {}
        return cls(
            event_id=str(detail["eventId"]),
            type=str(detail["type"]),
            organization_id=detail.get("organizationId"),
            occurred_at=datetime.fromisoformat(str(detail["occurredAt"])),
            actor_kind=str(actor.get("kind", "system")),
            actor_id=str(actor.get("id", "")),
            data=dict(detail.get("data") or {}),
        )

    @classmethod
    def from_eventbridge(cls, event: dict[str, Any]) -> DomainEvent:
        detail = event.get("detail")
        if isinstance(detail, str):
            detail = json.loads(detail)
        if not isinstance(detail, dict):
            raise ValueError("an EventBridge event without a detail object")
        return cls.from_detail(detail)
