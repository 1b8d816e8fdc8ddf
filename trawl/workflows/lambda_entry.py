"""The Lambda entry point: EventBridge invokes `handler(event, context)` with one event.
Same handler code as the local SQS poller. The Temporal client and the audit table client
are created once per container and reused across invocations."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import Client

from trawl.config import get_settings
from trawl.events.audit import AuditLog
from trawl.events.envelope import DomainEvent
from trawl.workflows.handler import EventHandler

_loop: asyncio.AbstractEventLoop | None = None
_handler: EventHandler | None = None


async def _build() -> EventHandler:
    settings = get_settings()
    client = await Client.connect(settings.temporal_target, namespace=settings.temporal_namespace)
    return EventHandler(client, settings, AuditLog(settings))


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    global _loop, _handler
    if _loop is None:
        _loop = asyncio.new_event_loop()
    if _handler is None:
        _handler = _loop.run_until_complete(_build())
    domain_event = DomainEvent.from_eventbridge(event)
    _loop.run_until_complete(_handler.handle(domain_event))
    return {"eventId": domain_event.event_id, "status": "handled"}
