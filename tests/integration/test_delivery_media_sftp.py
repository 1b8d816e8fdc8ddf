"""SFTP delivery against asyncssh's SFTP server on loopback."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from tests.support.delivery_servers import SftpServer, delivery_context, delivery_file
from tests.support.moto import free_port
from trawl.delivery.media import DeliveryError, SftpDestination, SftpSender, check

USER, PASSWORD = "acme", "s3cret"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[SftpServer]:
    root = tmp_path / "sftp-root"
    root.mkdir()
    running = SftpServer(root, {USER: PASSWORD})
    await running.start()
    yield running
    await running.stop()


def destination(server: SftpServer, **changes: object) -> SftpDestination:
    base = SftpDestination(
        host="127.0.0.1",
        port=server.port,
        username=USER,
        password=PASSWORD,
        directory="/exports/daily",
        timeout_seconds=5,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_delivers_exact_bytes_into_created_directory(
    server: SftpServer, tmp_path: Path
) -> None:
    file = delivery_file(tmp_path, size=300_000)

    receipt = await SftpSender(destination(server)).send(file, delivery_context())

    landed = server.root / "exports" / "daily"
    assert (landed / file.name).read_bytes() == file.path.read_bytes()
    assert [p.name for p in landed.iterdir()] == [file.name]  # no temporary file left
    assert receipt.size == file.size
    assert receipt.location == f"sftp://acme@127.0.0.1:{server.port}/exports/daily/run-1.csv.gz"
    assert receipt.details["host_key_fingerprint"] == server.fingerprint


async def test_redelivery_replaces_the_file(server: SftpServer, tmp_path: Path) -> None:
    sender = SftpSender(destination(server))
    (tmp_path / "first").mkdir()
    await sender.send(delivery_file(tmp_path / "first", size=10), delivery_context())
    second = delivery_file(tmp_path, size=20)

    await sender.send(second, delivery_context())

    assert (server.root / "exports/daily" / second.name).read_bytes() == second.path.read_bytes()


async def test_private_key_login(server: SftpServer, tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    server.users.clear()

    class KeyServer(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, offered: asyncssh.SSHKey) -> bool:
            return username == USER and offered == key.convert_to_public()

    acceptor = await asyncssh.listen(
        "127.0.0.1",
        port := free_port(),
        server_host_keys=[server.host_key],
        server_factory=KeyServer,
        sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=os.fsencode(server.root)),
    )
    try:
        pem = key.export_private_key().decode()
        sender = SftpSender(destination(server, port=port, password=None, private_key=pem))
        file = delivery_file(tmp_path)
        await sender.send(file, delivery_context())
    finally:
        acceptor.close()
    assert (server.root / "exports/daily" / file.name).read_bytes() == file.path.read_bytes()


async def test_wrong_password_is_not_retryable(server: SftpServer, tmp_path: Path) -> None:
    sender = SftpSender(destination(server, password="wrong"))

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert not caught.value.retryable
    assert str(caught.value) == f"SFTP login refused for user 'acme' at 127.0.0.1:{server.port}"


async def test_pinned_host_key_mismatch_refuses_before_login(
    server: SftpServer, tmp_path: Path
) -> None:
    sender = SftpSender(destination(server, host_key_fingerprint="SHA256:not-this-one"))

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert not caught.value.retryable
    assert server.fingerprint in str(caught.value)
    assert "SHA256:not-this-one" in str(caught.value)


async def test_pinned_host_key_match_delivers(server: SftpServer, tmp_path: Path) -> None:
    sender = SftpSender(destination(server, host_key_fingerprint=server.fingerprint))

    receipt = await sender.send(delivery_file(tmp_path), delivery_context())

    assert receipt.details["host_key_fingerprint"] == server.fingerprint


async def test_server_down_is_retryable(tmp_path: Path) -> None:
    port = free_port()
    sender = SftpSender(SftpDestination(host="127.0.0.1", port=port, username=USER, password="x"))

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert caught.value.retryable
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_write_refused_names_the_path(server: SftpServer, tmp_path: Path) -> None:
    (server.root / "exports" / "daily").mkdir(parents=True)
    server.read_only = True
    await server.stop()
    await server.start()
    sender = SftpSender(destination(server))

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert not caught.value.retryable
    assert "refused to write /exports/daily/" in str(caught.value)
    assert "permission denied" in str(caught.value)


async def test_check_reports_missing_write_permission(server: SftpServer) -> None:
    (server.root / "exports" / "daily").mkdir(parents=True)
    server.read_only = True
    await server.stop()
    await server.start()

    with pytest.raises(DeliveryError, match="permission denied") as caught:
        await check(destination(server))

    assert not caught.value.retryable


async def test_check_passes_and_leaves_nothing(server: SftpServer) -> None:
    await check(destination(server))

    assert list((server.root / "exports" / "daily").iterdir()) == []


async def test_check_reports_wrong_password(server: SftpServer) -> None:
    with pytest.raises(DeliveryError, match="SFTP login refused for user 'acme'"):
        await check(destination(server, password="wrong"))
