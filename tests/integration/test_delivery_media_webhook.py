"""Webhook delivery against an HTTP receiver on loopback that checks signatures with the
published `verify_signature`, and that function's own rules."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.delivery_servers import WebhookReceiver, delivery_context, delivery_file
from tests.support.moto import free_port
from trawl.delivery.media import (
    DeliveryError,
    SignatureError,
    WebhookDestination,
    WebhookSender,
    check,
    sign,
    verify_signature,
)

SECRET = "whsec_test_4f9a"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver(SECRET)
    running.start()
    yield running
    running.stop()


def sender(receiver: WebhookReceiver, secret: str = SECRET) -> WebhookSender:
    return WebhookSender(WebhookDestination(url=receiver.url, secret=secret, timeout_seconds=5))


async def test_delivers_a_signed_body_with_run_report_counts_and_link(
    receiver: WebhookReceiver, tmp_path: Path
) -> None:
    file = delivery_file(tmp_path, size=4096)

    receipt = await sender(receiver).send(file, delivery_context())

    [request] = receiver.received
    assert request.signature_error is None
    body = json.loads(request.body)
    assert body["type"] == "dataset.delivered"
    assert body["run"] == {"id": "run-1", "finished_at": "2030-01-01T06:30:00Z"}
    assert body["report"] == {"id": "report-1", "name": "Daily prices"}
    assert body["organization"] == {"id": "org-1"}
    assert body["counts"] == {"records": 1234, "bytes": 4096}
    assert body["format"] == "csv"
    assert body["download_url"] == file.download_url
    assert body["expires_at"] == "2030-01-08T12:00:00Z"
    assert "delivered_at" in body
    timestamp = int(request.headers["x-trawl-timestamp"])
    assert abs(timestamp - time.time()) < 60
    assert request.headers["x-trawl-signature"].startswith(f"t={timestamp},v1=")
    assert receipt.details["status"] == "200"
    assert receipt.location == receiver.url


async def test_server_error_is_retryable(receiver: WebhookReceiver, tmp_path: Path) -> None:
    receiver.status = 500

    with pytest.raises(DeliveryError) as caught:
        await sender(receiver).send(delivery_file(tmp_path), delivery_context())

    assert caught.value.retryable
    assert f"webhook {receiver.url} answered 500: status 500" == str(caught.value)


async def test_too_many_requests_is_retryable(receiver: WebhookReceiver, tmp_path: Path) -> None:
    receiver.status = 429

    with pytest.raises(DeliveryError) as caught:
        await sender(receiver).send(delivery_file(tmp_path), delivery_context())

    assert caught.value.retryable


async def test_client_error_is_not_retryable(receiver: WebhookReceiver, tmp_path: Path) -> None:
    receiver.status = 400

    with pytest.raises(DeliveryError) as caught:
        await sender(receiver).send(delivery_file(tmp_path), delivery_context())

    assert not caught.value.retryable
    assert "answered 400" in str(caught.value)


async def test_wrong_secret_is_rejected_by_the_receiver(
    receiver: WebhookReceiver, tmp_path: Path
) -> None:
    with pytest.raises(DeliveryError, match="answered 401") as caught:
        await sender(receiver, secret="another").send(delivery_file(tmp_path), delivery_context())

    assert not caught.value.retryable
    assert receiver.received[0].signature_error == "signature does not match the body"


async def test_receiver_down_is_retryable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    down = WebhookSender(WebhookDestination(url=url, secret=SECRET, timeout_seconds=2))

    with pytest.raises(DeliveryError) as caught:
        await down.send(delivery_file(tmp_path), delivery_context())

    assert caught.value.retryable
    assert url in str(caught.value)


@pytest.mark.parametrize(
    "url",
    ["http://hooks.customer.test/trawl", "ftp://127.0.0.1/x", "https:///nohost"],
)
async def test_plain_http_is_refused_outside_loopback(url: str, tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match="must be an https:// URL") as caught:
        await check(WebhookDestination(url=url, secret=SECRET))

    assert not caught.value.retryable


async def test_check_posts_a_signed_test_event(receiver: WebhookReceiver) -> None:
    await check(WebhookDestination(url=receiver.url, secret=SECRET))

    [request] = receiver.received
    assert request.signature_error is None
    assert json.loads(request.body)["type"] == "test"


async def test_check_reports_a_refusing_endpoint(receiver: WebhookReceiver) -> None:
    receiver.status = 404

    with pytest.raises(DeliveryError, match="answered 404"):
        await check(WebhookDestination(url=receiver.url, secret=SECRET))


# --- verify_signature, as customers use it ---------------------------------------------------

BODY = b'{"type":"dataset.delivered","run":{"id":"run-1"}}'
NOW = 1_900_000_000


def test_verify_accepts_the_signed_body() -> None:
    verify_signature(SECRET, BODY, sign(SECRET, BODY, NOW), now=NOW + 10)


def test_verify_rejects_a_tampered_body() -> None:
    header = sign(SECRET, BODY, NOW)

    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(SECRET, BODY.replace(b"run-1", b"run-2"), header, now=NOW)


def test_verify_rejects_an_old_timestamp_as_replay() -> None:
    header = sign(SECRET, BODY, NOW)

    with pytest.raises(SignatureError, match="possible replay"):
        verify_signature(SECRET, BODY, header, timestamp_tolerance=300, now=NOW + 301)


def test_verify_rejects_a_timestamp_moved_forward() -> None:
    signature = sign(SECRET, BODY, NOW).split(",")[1]

    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(SECRET, BODY, f"t={NOW + 600},{signature}", now=NOW + 600)


def test_verify_accepts_any_of_several_signatures_during_secret_rotation() -> None:
    old = sign("old-secret", BODY, NOW).split(",")[1]
    header = f"{sign(SECRET, BODY, NOW)},{old}"

    verify_signature("old-secret", BODY, header, now=NOW)
    verify_signature(SECRET, BODY, header, now=NOW)


@pytest.mark.parametrize("header", ["", "v1=abc", f"t={NOW}", "t=soon,v1=abc"])
def test_verify_rejects_a_malformed_header(header: str) -> None:
    with pytest.raises(SignatureError):
        verify_signature(SECRET, BODY, header, now=NOW)
