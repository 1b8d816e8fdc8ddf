"""Conversions from proto values to GraphQL values, and the Long scalar."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NewType

import strawberry
from google.protobuf.timestamp_pb2 import Timestamp

# Counters can pass 2^31 (bytes soon do), which GraphQL's Int cannot hold.
Long = NewType("Long", int)
LONG_SCALAR = strawberry.scalar(
    name="Long",
    description="A 64-bit integer, as a JSON number (exact in JavaScript up to 2^53).",
    serialize=int,
    parse_value=int,
)


def to_datetime(message: Any, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    value: Timestamp = getattr(message, field)
    return value.ToDatetime(tzinfo=UTC)


def required_datetime(message: Any, field: str) -> datetime:
    value = to_datetime(message, field)
    if value is None:
        raise ValueError(f"service reply lacks {field}")
    return value
