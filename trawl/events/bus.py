"""The routing the event path needs: a custom EventBridge bus, a rule matching our source, and
the SQS queue (with its dead-letter queue) the rule targets.

In production the rule also targets the Lambda handler; locally the SQS poller stands in for
it. Every step is an upsert or tolerates "already exists", so any number of processes may
call `ensure_event_routing` at start-up, at the same time, as often as they like."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from botocore.exceptions import ClientError

from trawl.config import Settings
from trawl.events.aws import aws_client

# Longer than a handler is expected to take; a failed handler shortens it per message.
QUEUE_VISIBILITY_SECONDS = 60
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
TARGET_ID = "trawl-events-queue"


def dead_letter_queue_name(settings: Settings) -> str:
    return f"{settings.event_queue_name}-dlq"


async def ensure_event_routing(settings: Settings) -> str:
    """Create (or confirm) bus, queues, rule and target; returns the event queue's URL."""
    return await asyncio.to_thread(_ensure_event_routing, settings)


def _ensure_event_routing(settings: Settings) -> str:
    events = aws_client(settings, "events")
    sqs = aws_client(settings, "sqs")
    _ensure_bus(events, settings.event_bus_name)
    rule_arn = _ensure_rule(events, settings)
    dlq_url = _ensure_queue(
        sqs,
        dead_letter_queue_name(settings),
        {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)},
    )
    queue_url = _ensure_queue(
        sqs,
        settings.event_queue_name,
        {
            "VisibilityTimeout": str(QUEUE_VISIBILITY_SECONDS),
            "MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": _queue_arn(sqs, dlq_url),
                    "maxReceiveCount": str(settings.event_max_receives),
                }
            ),
        },
    )
    queue_arn = _queue_arn(sqs, queue_url)
    sqs.set_queue_attributes(
        QueueUrl=queue_url, Attributes={"Policy": _queue_policy(queue_arn, rule_arn)}
    )
    _ensure_target(events, settings, queue_arn)
    return queue_url


def _ensure_bus(events: Any, name: str) -> None:
    try:
        events.create_event_bus(Name=name)
    except ClientError as exc:
        # Another process won the race, or an earlier start created it.
        if _error_code(exc) != "ResourceAlreadyExistsException":
            raise


def _ensure_rule(events: Any, settings: Settings) -> str:
    # PutRule creates or updates, so a changed event_source is picked up on the next start.
    reply = events.put_rule(
        Name=settings.event_rule_name,
        EventBusName=settings.event_bus_name,
        EventPattern=json.dumps({"source": [settings.event_source]}),
        State="ENABLED",
        Description="Trawl domain events to the event queue",
    )
    return str(reply["RuleArn"])


def _ensure_queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    # CreateQueue without attributes returns the existing queue's URL whatever its
    # attributes; with attributes it fails when they differ. So: create bare, then set.
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def _queue_arn(sqs: Any, queue_url: str) -> str:
    reply = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(reply["Attributes"]["QueueArn"])


def _queue_policy(queue_arn: str, rule_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowTrawlEventRule",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
    )


def _ensure_target(events: Any, settings: Settings, queue_arn: str) -> None:
    reply = events.put_targets(
        Rule=settings.event_rule_name,
        EventBusName=settings.event_bus_name,
        Targets=[{"Id": TARGET_ID, "Arn": queue_arn}],
    )
    if reply.get("FailedEntryCount"):
        raise RuntimeError(f"event rule target not set: {reply.get('FailedEntries')}")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
