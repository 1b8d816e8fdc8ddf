"""FTP and explicit FTPS delivery against pyftpdlib on loopback."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.delivery_servers import (
    FtpServer,
    delivery_context,
    delivery_file,
    self_signed_certificate,
)
from tests.support.moto import free_port
from trawl.delivery.media import DeliveryError, FtpDestination, FtpSender, check

USER, PASSWORD = "acme", "s3cret"


@pytest.fixture(params=["ftp", "ftps"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FtpServer]:
    root = tmp_path / "ftp-root"
    root.mkdir()
    certificate = None
    if request.param == "ftps":
        certificate = self_signed_certificate(tmp_path)
    running = FtpServer(root, USER, PASSWORD, certificate)
    running.start()
    yield running
    running.stop()


def destination(server: FtpServer, **changes: object) -> FtpDestination:
    tls = server.certificate is not None
    base = FtpDestination(
        host="127.0.0.1",
        port=server.port,
        username=USER,
        password=PASSWORD,
        directory="exports/daily",
        tls=tls,
        verify_tls=not tls,  # the test server's certificate is self-signed
        timeout_seconds=5,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_delivers_exact_bytes_into_created_directory(
    server: FtpServer, tmp_path: Path
) -> None:
    file = delivery_file(tmp_path, size=700_000)

    receipt = await FtpSender(destination(server)).send(file, delivery_context())

    landed = server.root / "exports" / "daily"
    assert (landed / file.name).read_bytes() == file.path.read_bytes()
    assert [p.name for p in landed.iterdir()] == [file.name]  # temporary name renamed away
    scheme = "ftps" if server.certificate else "ftp"
    assert receipt.location == f"{scheme}://acme@127.0.0.1:{server.port}/exports/daily/{file.name}"
    assert receipt.size == file.size


async def test_redelivery_replaces_the_file(server: FtpServer, tmp_path: Path) -> None:
    sender = FtpSender(destination(server, directory="/"))
    (tmp_path / "first").mkdir()
    await sender.send(delivery_file(tmp_path / "first", size=10), delivery_context())
    second = delivery_file(tmp_path, size=20)

    await sender.send(second, delivery_context())

    assert (server.root / second.name).read_bytes() == second.path.read_bytes()


async def test_wrong_password_is_not_retryable(server: FtpServer, tmp_path: Path) -> None:
    sender = FtpSender(destination(server, password="wrong"))

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert not caught.value.retryable
    assert f"login refused for user 'acme' at 127.0.0.1:{server.port}: 530" in str(caught.value)


async def test_server_down_is_retryable(tmp_path: Path) -> None:
    port = free_port()
    sender = FtpSender(FtpDestination(host="127.0.0.1", port=port, username=USER, password="x"))

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert caught.value.retryable
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_check_passes_and_leaves_nothing(server: FtpServer) -> None:
    await check(destination(server))

    assert list((server.root / "exports" / "daily").iterdir()) == []


async def test_check_reports_wrong_password(server: FtpServer) -> None:
    with pytest.raises(DeliveryError, match="login refused for user 'acme'"):
        await check(destination(server, password="wrong"))


async def test_ftps_refuses_an_untrusted_certificate_by_default(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    server = FtpServer(root, USER, PASSWORD, self_signed_certificate(tmp_path))
    server.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await check(destination(server, verify_tls=True))
    finally:
        server.stop()

    assert not caught.value.retryable
    assert "TLS certificate that is not trusted" in str(caught.value)


async def test_plain_ftp_to_a_tls_only_server_is_refused_clearly(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    server = FtpServer(root, USER, PASSWORD, self_signed_certificate(tmp_path))
    server.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await check(destination(server, tls=False))
    finally:
        server.stop()

    assert not caught.value.retryable
    assert "FTP server" in str(caught.value)
