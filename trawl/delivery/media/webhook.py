"""Webhook delivery: a signed HTTPS POST telling the customer's endpoint that a dataset is ready.

The body is JSON (run, report, organization, counts, format, download URL and its expiry,
delivery time); the file itself is never posted, the receiver fetches it from the URL. The
`X-Trawl-Signature` header (see signature.py) signs timestamp and body with the destination's
own secret. Redirects are not followed: a signed body re-sent to wherever a 3xx points is how
secrets and data leak, so a redirect is reported and the user configures the final URL.

Retryable: network errors, 5xx and 429. Any other non-2xx is the receiver refusing this
request on purpose; sending the same thing again would not change its answer."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from trawl.delivery.media.sender import (
    DeliveryContext,
    DeliveryError,
    DeliveryFile,
    DeliveryReceipt,
    short,
)
from trawl.delivery.media.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

log = logging.getLogger(__name__)

MEDIUM = "webhook"
EVENT_TYPE = "dataset.delivered"
TEST_EVENT_TYPE = "test"
USER_AGENT = "Trawl-Webhook/1"


@dataclass(frozen=True, slots=True)
class WebhookDestination:
    url: str
    secret: str = field(repr=False)
    # Plain http is refused except to these hosts (loopback, for tests and local setups).
    allow_http_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    timeout_seconds: float = 15.0
    verify_tls: bool = True


class WebhookSender:
    medium = MEDIUM

    def __init__(self, destination: WebhookDestination) -> None:
        self._destination = destination

    async def send(self, file: DeliveryFile, context: DeliveryContext) -> DeliveryReceipt:
        response = await self._post(delivery_body(file, context, datetime.now(UTC)))
        log.info(
            "delivery=sent medium=webhook org=%s run=%s status=%d",
            context.organization_id,
            context.run_id,
            response.status_code,
        )
        return DeliveryReceipt(
            medium=MEDIUM,
            location=self._destination.url,
            size=file.size,
            details={"status": str(response.status_code)},
        )

    async def check(self) -> None:
        """POST a signed `{"type": "test"}` body and expect 2xx."""
        await self._post({"type": TEST_EVENT_TYPE, "sent_at": _iso(datetime.now(UTC))})

    async def _post(self, payload: Mapping[str, Any]) -> httpx.Response:
        url = self._destination.url
        _require_https(url, self._destination.allow_http_hosts)
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._destination.secret, body, timestamp),
        }
        try:
            async with httpx.AsyncClient(
                timeout=self._destination.timeout_seconds,
                verify=self._destination.verify_tls,
                follow_redirects=False,
            ) as client:
                response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _transport_error(url, exc) from exc
        _raise_for_status(url, response)
        return response


def delivery_body(file: DeliveryFile, context: DeliveryContext, now: datetime) -> dict[str, Any]:
    """The JSON body of a delivery notification (documented for customers)."""
    return {
        "type": EVENT_TYPE,
        "run": {"id": context.run_id, "finished_at": _iso(context.finished_at)},
        "report": {"id": context.report_id, "name": context.report_name},
        "organization": {"id": context.organization_id},
        "counts": {"records": context.records, "bytes": file.size},
        "format": context.format,
        "compression": context.compression,
        "file": {"name": file.name, "content_type": file.content_type, "size": file.size},
        "download_url": file.download_url,
        "expires_at": _iso(file.url_expires_at),
        "delivered_at": _iso(now),
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _require_https(url: str, allow_http_hosts: tuple[str, ...]) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in allow_http_hosts:
        return
    raise DeliveryError(f"webhook URL {url!r} must be an https:// URL", retryable=False)


def _transport_error(url: str, exc: httpx.HTTPError) -> DeliveryError:
    reason = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in reason:
        return DeliveryError(
            f"webhook {url} presented a TLS certificate that is not trusted: {short(reason)}",
            retryable=False,
        )
    return DeliveryError(f"could not reach webhook {url}: {short(reason)}", retryable=True)


def _raise_for_status(url: str, response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        target = response.headers.get("location", "?")
        raise DeliveryError(
            f"webhook {url} answered {status} redirecting to {target}; "
            "redirects are not followed, set the final URL",
            retryable=False,
        )
    answer = short(response.text) or response.reason_phrase
    raise DeliveryError(
        f"webhook {url} answered {status}: {answer}",
        retryable=status >= 500 or status == 429,
    )
