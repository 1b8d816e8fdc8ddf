"""The SQS poller: drains the event queue into the event handler, standing in locally for the
EventBridge → Lambda trigger (Lambda needs Docker, which local runs do not have).

A message is deleted only after the handler succeeded; a failed one becomes visible again
after a short, growing delay and, after a few receives, lands in the dead-letter queue. A body
that is not an event can never succeed, so it is logged and deleted at once rather than
holding its place for five receives. Handlers must be idempotent: delivery is at least once."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from trawl.config import Settings
from trawl.events.aws import aws_client
from trawl.events.envelope import DomainEvent
from trawl.events.relay import backoff_delay, wait_any

log = logging.getLogger("trawl.events.poller")

Handler = Callable[[DomainEvent], Awaitable[None]]

MAX_MESSAGES = 10
WAIT_SECONDS = 1
MAX_VISIBILITY_SECONDS = 12 * 3600  # the SQS limit


class SqsPoller:
    """Receives, hands each event to `handle`, deletes what was handled."""

    def __init__(
        self,
        settings: Settings,
        queue_url: str,
        handle: Handler,
        client: Any = None,
        *,
        retry_base_seconds: int = 1,
        retry_max_seconds: int = 60,
    ) -> None:
        self._settings = settings
        self._queue_url = queue_url
        self._handle = handle
        self._client = client or aws_client(settings, "sqs")
        self._retry_base = max(0, retry_base_seconds)
        self._retry_max = min(max(retry_max_seconds, self._retry_base), MAX_VISIBILITY_SECONDS)
        self._random = random.Random()

    async def poll_once(self) -> int:
        """One long poll; returns how many messages were received (handled or not)."""
        reply = await asyncio.to_thread(
            self._client.receive_message,
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=MAX_MESSAGES,
            WaitTimeSeconds=WAIT_SECONDS,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        messages: list[dict[str, Any]] = list(reply.get("Messages") or [])
        # One at a time, in the order received: handlers see related events in order.
        for message in messages:
            await self._process(message)
        return len(messages)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set, backing off while SQS is unreachable."""
        failures = 0
        while not stop.is_set():
            try:
                await self.poll_once()
            except Exception as exc:  # SQS unreachable, mostly: back off, never die
                failures += 1
                delay = backoff_delay(
                    failures,
                    base=self._settings.outbox_poll_seconds,
                    cap=self._settings.outbox_retry_max_seconds,
                    rng=self._random,
                )
                log.warning(
                    "event_poller=receive_failed failures=%d retry_in=%.2f error=%r",
                    failures,
                    delay,
                    str(exc)[:300],
                )
                await wait_any(stop, seconds=delay)
                continue
            if failures:
                log.info("event_poller=recovered after_failures=%d", failures)
                failures = 0

    async def _process(self, message: dict[str, Any]) -> None:
        message_id = message.get("MessageId", "")
        try:
            event = DomainEvent.from_eventbridge(json.loads(message.get("Body", "")))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("event_poller=malformed_message message_id=%s error=%r", message_id, str(exc))
            await self._delete(message)
            return
        try:
            await self._handle(event)
        except Exception as exc:  # any handler failure: leave it for redelivery
            await self._retry_later(message, event, exc)
            return
        await self._delete(message)

    async def _retry_later(
        self, message: dict[str, Any], event: DomainEvent, exc: Exception
    ) -> None:
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        delay = min(self._retry_max, self._retry_base * 2 ** min(receives - 1, 20))
        log.warning(
            "event_poller=handler_failed event_id=%s type=%s org=%s receives=%d retry_in=%d "
            "error=%r",
            event.event_id,
            event.type,
            event.organization_id,
            receives,
            delay,
            str(exc)[:300],
        )
        try:
            await asyncio.to_thread(
                self._client.change_message_visibility,
                QueueUrl=self._queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=delay,
            )
        except (BotoCoreError, ClientError) as visibility_exc:
            # The queue's own visibility timeout brings it back later; nothing is lost.
            log.warning("event_poller=visibility_not_changed error=%r", str(visibility_exc))

    async def _delete(self, message: dict[str, Any]) -> None:
        await asyncio.to_thread(
            self._client.delete_message,
            QueueUrl=self._queue_url,
            ReceiptHandle=message["ReceiptHandle"],
        )
