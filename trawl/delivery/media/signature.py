"""Signing of webhook bodies, Stripe-style, and the verification customers run on receipt.

The header is `X-Trawl-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
The timestamp is inside the signed text, so it cannot be changed without breaking the
signature, and a receiver that rejects timestamps older than a few minutes defeats replays of
a captured request. A header may carry several `v1=` values (one per secret while a secret is
being rotated); one match is enough.

This module depends on nothing but the standard library so it can be copied into customers'
documentation as the reference verifier."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Trawl-Signature"
TIMESTAMP_HEADER = "X-Trawl-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The signature header is malformed, does not match the body, or is too old."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Trawl-Signature` header value for `body` sent at `timestamp`."""
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    timestamp_tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raises SignatureError unless `header` signs exactly `body` with `secret` and its
    timestamp lies within `timestamp_tolerance` seconds of `now` (default: the clock)."""
    timestamp, candidates = _parse(header)
    expected = _digest(secret, body, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("signature does not match the body")
    current = time.time() if now is None else now
    if abs(current - timestamp) > timestamp_tolerance:
        raise SignatureError(
            f"timestamp {timestamp} is more than {timestamp_tolerance}s from now; possible replay"
        )


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(f"timestamp {value!r} is not an integer") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None:
        raise SignatureError("signature header has no t= timestamp")
    if not candidates:
        raise SignatureError("signature header has no v1= signature")
    return timestamp, candidates
