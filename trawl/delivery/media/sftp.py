"""SFTP delivery with asyncssh: the file goes to a hidden temporary name in the remote
directory (created if missing) and is renamed onto its final name once complete, so a process
watching the directory never picks up a partial file.

Host keys: with a pinned fingerprint ("SHA256:..."), any other key aborts the handshake before
authentication, so a password is never sent to an impostor. Without one, any key is accepted
(trust on first use is the caller's to decide) and its fingerprint is recorded in the receipt,
so a later change can be noticed and pinned. Nothing of the worker's own SSH setup is used:
no ~/.ssh/config, known_hosts, default keys or agent."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import asyncssh

from trawl.delivery.media.sender import (
    PROBE_NAME,
    DeliveryContext,
    DeliveryError,
    DeliveryFile,
    DeliveryReceipt,
    remote_path,
    temporary_name,
)

log = logging.getLogger(__name__)

MEDIUM = "sftp"


@dataclass(frozen=True, slots=True)
class SftpDestination:
    host: str
    username: str
    port: int = 22
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)  # PEM / OpenSSH text
    private_key_passphrase: str | None = field(default=None, repr=False)
    host_key_fingerprint: str | None = None  # "SHA256:..." as `ssh-keygen -lf` prints it
    directory: str = ""
    timeout_seconds: float = 30.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class _HostKeyClient(asyncssh.SSHClient):
    """Checks the server's host key against the pinned fingerprint, if any, and remembers it."""

    def __init__(self, pinned: str | None) -> None:
        self.pinned = pinned
        self.seen: str | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.seen = key.get_fingerprint("sha256")
        return self.pinned is None or self.seen == self.pinned


@dataclass(slots=True)
class _Session:
    sftp: asyncssh.SFTPClient
    host_key_fingerprint: str


class SftpSender:
    medium = MEDIUM

    def __init__(self, destination: SftpDestination) -> None:
        self._destination = destination

    async def send(self, file: DeliveryFile, context: DeliveryContext) -> DeliveryReceipt:
        directory = self._destination.directory
        final = remote_path(directory, file.name)
        async with self._session() as session:
            await self._run(self._make_directory(session.sftp), "create directory", directory)
            await self._run(self._upload(session.sftp, file, final), "write", final)
            final = await session.sftp.realpath(final)
            fingerprint = session.host_key_fingerprint
        log.info(
            "delivery=sent medium=sftp org=%s run=%s host=%s path=%s bytes=%d host_key=%s",
            context.organization_id,
            context.run_id,
            self._destination.address,
            final,
            file.size,
            fingerprint,
        )
        return DeliveryReceipt(
            medium=MEDIUM,
            location=f"sftp://{self._destination.username}@{self._destination.address}{final}",
            size=file.size,
            details={"host_key_fingerprint": fingerprint},
        )

    async def check(self) -> None:
        """Log in, create (or find) the directory and write then remove a tiny probe file."""
        directory = self._destination.directory
        probe = remote_path(directory, PROBE_NAME)
        async with self._session() as session:
            await self._run(self._make_directory(session.sftp), "create directory", directory)
            await self._run(self._write_probe(session.sftp, probe), "write", probe)

    async def _make_directory(self, sftp: asyncssh.SFTPClient) -> None:
        directory = self._destination.directory
        # Look first: an account that may write into an existing directory is often refused
        # even a no-op mkdir of its parents (OpenSSH's read-only and chrooted setups).
        if directory in ("", ".") or await sftp.isdir(directory):
            return
        await sftp.makedirs(directory, exist_ok=True)

    async def _upload(self, sftp: asyncssh.SFTPClient, file: DeliveryFile, final: str) -> None:
        temporary = remote_path(self._destination.directory, temporary_name(file.name))
        try:
            await sftp.put(str(file.path), temporary)
            await _replace(sftp, temporary, final)
        except BaseException:
            await _remove_quietly(sftp, temporary)
            raise

    async def _write_probe(self, sftp: asyncssh.SFTPClient, probe: str) -> None:
        async with sftp.open(probe, "wb") as handle:
            await handle.write(b"trawl")
        await _remove_quietly(sftp, probe)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[_Session]:
        destination = self._destination
        client = _HostKeyClient(destination.host_key_fingerprint)
        try:
            connection = await asyncssh.connect(
                destination.host,
                destination.port,
                username=destination.username,
                password=destination.password,
                client_keys=self._client_keys(),
                client_factory=lambda: client,
                # Empty trusted lists (not None) make asyncssh ask _HostKeyClient about the key.
                known_hosts=([], [], []),
                config=[],
                agent_path=None,
                connect_timeout=destination.timeout_seconds,
            )
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            raise self._connect_error(exc, client) from exc
        try:
            async with connection, connection.start_sftp_client() as sftp:
                yield _Session(sftp, client.seen or "")
        except (asyncssh.Error, OSError) as exc:
            reason = exc.reason if isinstance(exc, asyncssh.Error) else str(exc)
            raise DeliveryError(
                f"SFTP session with {destination.address} failed: {reason}", retryable=True
            ) from exc

    def _client_keys(self) -> list[asyncssh.SSHKey] | None:
        destination = self._destination
        if destination.private_key is None:
            return None  # None, not []: [] would make asyncssh load ~/.ssh/id_* keys
        try:
            key = asyncssh.import_private_key(
                destination.private_key, destination.private_key_passphrase
            )
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise DeliveryError(
                f"the SFTP private key could not be read: {exc}", retryable=False
            ) from exc
        return [key]

    def _connect_error(self, exc: BaseException, client: _HostKeyClient) -> DeliveryError:
        destination = self._destination
        address = destination.address
        if isinstance(exc, asyncssh.PermissionDenied):
            return DeliveryError(
                f"SFTP login refused for user {destination.username!r} at {address}",
                retryable=False,
            )
        if isinstance(exc, asyncssh.HostKeyNotVerifiable):
            return DeliveryError(
                f"SFTP server {address} presented host key {client.seen}, "
                f"not the pinned {destination.host_key_fingerprint}",
                retryable=False,
            )
        if isinstance(exc, TimeoutError):
            return DeliveryError(f"SFTP server {address} did not answer in time", retryable=True)
        reason = exc.reason if isinstance(exc, asyncssh.Error) else str(exc)
        return DeliveryError(
            f"could not connect to SFTP server {address}: {reason}", retryable=True
        )

    async def _run(self, operation: Awaitable[None], action: str, path: str) -> None:
        """Awaits `operation`, turning SFTP status errors into messages naming the path."""
        try:
            await operation
        except asyncssh.SFTPError as exc:
            raise _sftp_error(exc, action, path or ".", self._destination.address) from exc


def _sftp_error(exc: asyncssh.SFTPError, action: str, path: str, address: str) -> DeliveryError:
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return DeliveryError(
            f"SFTP server {address} refused to {action} {path}: permission denied",
            retryable=False,
        )
    if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
        return DeliveryError(
            f"SFTP server {address} could not {action} {path}: no such file or directory",
            retryable=False,
        )
    return DeliveryError(
        f"SFTP server {address} could not {action} {path}: {exc.reason}", retryable=True
    )


async def _replace(sftp: asyncssh.SFTPClient, source: str, target: str) -> None:
    """Atomic rename over an existing file where the server offers posix-rename (OpenSSH
    does); plain SFTP rename fails when the target exists, so fall back to remove + rename."""
    try:
        await sftp.posix_rename(source, target)
        return
    except asyncssh.SFTPOpUnsupported:
        pass
    await _remove_quietly(sftp, target)
    await sftp.rename(source, target)


async def _remove_quietly(sftp: asyncssh.SFTPClient, path: str) -> None:
    with suppress(asyncssh.Error, OSError):
        await sftp.remove(path)
