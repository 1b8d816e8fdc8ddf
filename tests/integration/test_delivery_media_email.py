"""Email delivery against aiosmtpd on loopback."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.delivery_servers import (
    SmtpServer,
    delivery_context,
    delivery_file,
    self_signed_certificate,
)
from tests.support.moto import free_port
from trawl.delivery.media import DeliveryError, EmailDestination, EmailSender, check

USER, PASSWORD = "mailer", "s3cret"


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    running = SmtpServer()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[SmtpServer]:
    running = SmtpServer(users={USER: PASSWORD}, certificate=self_signed_certificate(tmp_path))
    running.start()
    yield running
    running.stop()


def destination(server: SmtpServer, **changes: object) -> EmailDestination:
    base = EmailDestination(
        host="127.0.0.1",
        port=server.port,
        security="none",
        sender="exports@trawl.test",
        recipients=("ana@customer.test", "bo@customer.test"),
        attachment_limit_bytes=64 * 1024,
        timeout_seconds=5,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_small_file_is_attached(server: SmtpServer, tmp_path: Path) -> None:
    file = delivery_file(tmp_path, size=20_000)

    receipt = await EmailSender(destination(server)).send(file, delivery_context())

    [message] = server.messages
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == file.name
    assert attachment.get_content_type() == "application/gzip"
    assert attachment.get_content() == file.path.read_bytes()
    assert message["Subject"] == "Daily prices: run of 2030-01-01 06:30 UTC"
    assert message["Message-ID"] == receipt.location
    assert server.collector.envelopes == [
        ("exports@trawl.test", ["ana@customer.test", "bo@customer.test"])
    ]
    assert receipt.details["attached"] == "yes"


async def test_large_file_sends_the_download_link(server: SmtpServer, tmp_path: Path) -> None:
    file = delivery_file(tmp_path, size=100_000)

    receipt = await EmailSender(destination(server)).send(file, delivery_context())

    [message] = server.messages
    assert list(message.iter_attachments()) == []
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert file.download_url in text
    assert "2030-01-08 12:00 UTC" in text  # when the link expires
    assert "1234 records" in text
    assert receipt.details["attached"] == "no"


async def test_file_over_the_servers_advertised_size_sends_the_link(tmp_path: Path) -> None:
    server = SmtpServer(data_size_limit=30_000)
    server.start()
    try:
        # Under our limit, but base64 makes it larger than the server accepts.
        receipt = await EmailSender(destination(server)).send(
            delivery_file(tmp_path, size=25_000), delivery_context()
        )
    finally:
        server.stop()

    assert receipt.details["attached"] == "no"
    assert len(server.messages) == 1


async def test_starttls_and_login(tls_server: SmtpServer, tmp_path: Path) -> None:
    sender = EmailSender(
        destination(
            tls_server,
            security="starttls",
            verify_tls=False,
            username=USER,
            password=PASSWORD,
        )
    )

    await sender.send(delivery_file(tmp_path), delivery_context())

    assert len(tls_server.messages) == 1


async def test_wrong_password_is_not_retryable(tls_server: SmtpServer, tmp_path: Path) -> None:
    sender = EmailSender(
        destination(
            tls_server, security="starttls", verify_tls=False, username=USER, password="wrong"
        )
    )

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert not caught.value.retryable
    assert f"SMTP login refused for user 'mailer' at 127.0.0.1:{tls_server.port}: 535" in str(
        caught.value
    )
    assert tls_server.messages == []


async def test_untrusted_certificate_is_refused_by_default(tls_server: SmtpServer) -> None:
    with pytest.raises(DeliveryError) as caught:
        await check(destination(tls_server, security="starttls", username=USER, password=PASSWORD))

    assert not caught.value.retryable
    assert "TLS certificate that is not trusted" in str(caught.value)


async def test_server_down_is_retryable(tmp_path: Path) -> None:
    port = free_port()
    sender = EmailSender(
        EmailDestination(
            host="127.0.0.1", port=port, security="none", sender="a@b.test", recipients=("c@d",)
        )
    )

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert caught.value.retryable
    assert f"SMTP server 127.0.0.1:{port}" in str(caught.value)


async def test_check_passes_without_sending(tls_server: SmtpServer) -> None:
    await check(
        destination(
            tls_server, security="starttls", verify_tls=False, username=USER, password=PASSWORD
        )
    )

    assert tls_server.messages == []


async def test_check_reports_wrong_password(tls_server: SmtpServer) -> None:
    with pytest.raises(DeliveryError, match="SMTP login refused for user 'mailer'"):
        await check(
            destination(
                tls_server, security="starttls", verify_tls=False, username=USER, password="no"
            )
        )
