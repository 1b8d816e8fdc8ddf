"""Conversions from proto values to GraphQL values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp


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
