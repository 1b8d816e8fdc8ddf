"""The Lambda entry point: EventBridge invokes `handler(event, context)` with one event.
Same handler code as the local SQS poller. The Temporal client and the audit table client
are created once per container, on its first invocation, and reused by every later one, on
one event loop kept for the container's life (the runtime calls `handler` synchronously).

A payload that is not an EventBridge event carrying a domain event raises
`MalformedEventError` naming what is wrong, before anything is started or recorded; the
runtime turns it into the Lambda error response (`errorType`, `errorMessage`).

Run it as Lambda does: `python -m awslambdaric trawl.workflows.lambda_entry.handler` under
the Runtime Interface Emulator (tests/e2e/test_lambda_entry.py, scripts/lambda-rie.sh)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from temporalio.client import Client

from trawl.config import get_settings
from trawl.events.audit import AuditLog
from trawl.events.envelope import DomainEvent
from trawl.workflows.handler import EventHandler

log = logging.getLogger("trawl.lambda")

_REQUIRED_DETAIL_FIELDS = ("eventId", "type", "occurredAt")

_loop: asyncio.AbstractEventLoop | None = None
_handler: EventHandler | None = None


class MalformedEventError(ValueError):
    """The invocation's payload is not an EventBridge event carrying a Trawl domain event.
    Retrying cannot help: the message says which part is wrong."""


def parse_event(event: object) -> DomainEvent:
    """The domain event inside an EventBridge event, checked before any work is done."""
    if not isinstance(event, dict):
        raise MalformedEventError(
            f"expected an EventBridge event (a JSON object), got {type(event).__name__}"
        )
    detail = _detail(event)
    where = f"EventBridge event {event.get('id')!r}: detail"
    missing = [name for name in _REQUIRED_DETAIL_FIELDS if not _text(detail.get(name))]
    if missing:
        names = ", ".join(repr(name) for name in missing)
        raise MalformedEventError(f"{where} has no {names} (a non-empty string is required)")
    for name, kind in (("data", dict), ("actor", dict), ("organizationId", str)):
        value = detail.get(name)
        if value is not None and not isinstance(value, kind):
            raise MalformedEventError(
                f"{where}.{name} must be {'an object' if kind is dict else 'a string'},"
                f" not {type(value).__name__}"
            )
    _check_time(str(detail["occurredAt"]), f"{where}.occurredAt")
    return DomainEvent.from_detail(detail)


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    if "detail" not in event:
        keys = ", ".join(sorted(map(str, event))) or "none"
        raise MalformedEventError(f"the EventBridge event has no 'detail' (its keys: {keys})")
    detail = event["detail"]
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except json.JSONDecodeError as error:
            raise MalformedEventError(f"the event's 'detail' is not valid JSON: {error}") from None
    if not isinstance(detail, dict):
        raise MalformedEventError(
            f"the event's 'detail' must be an object, not {type(detail).__name__}"
        )
    return detail


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _check_time(value: str, where: str) -> None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedEventError(f"{where} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise MalformedEventError(f"{where} has no UTC offset: {value!r}")


async def _build() -> EventHandler:
    settings = get_settings()
    # The runtime's handler on the root logger prints what passes; ours says at which level.
    logging.getLogger("trawl").setLevel(settings.log_level.upper())
    client = await Client.connect(settings.temporal_target, namespace=settings.temporal_namespace)
    log.info(
        "lambda=cold_start temporal=%s namespace=%s task_queue=%s",
        settings.temporal_target,
        settings.temporal_namespace,
        settings.temporal_task_queue,
    )
    return EventHandler(client, settings, AuditLog(settings))


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    global _loop, _handler
    domain_event = parse_event(event)
    if _loop is None:
        _loop = asyncio.new_event_loop()
    if _handler is None:
        _handler = _loop.run_until_complete(_build())
    _loop.run_until_complete(_handler.handle(domain_event))
    log.info("lambda=handled event_id=%s type=%s", domain_event.event_id, domain_event.type)
    return {"eventId": domain_event.event_id, "type": domain_event.type, "status": "handled"}
