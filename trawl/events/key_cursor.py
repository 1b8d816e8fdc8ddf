"""Opaque keyset cursors over DynamoDB sort keys (the audit log, run logs): a cursor carries
the sort key of the last item returned, and decoding checks it has the store's key format,
so a cursor from one listing is refused by another."""

from __future__ import annotations

import base64
import binascii
import json
import re

from trawl.domain.errors import InvalidInput


def encode_cursor(key: str) -> str:
    raw = json.dumps({"k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, key_format: re.Pattern[str]) -> str:
    """The sort key inside a cursor; InvalidInput("after", ...) when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)["k"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise InvalidInput("after", "not a valid cursor") from exc
    if not isinstance(key, str) or not key_format.fullmatch(key):
        raise InvalidInput("after", "not a valid cursor")
    return key
