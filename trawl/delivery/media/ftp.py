"""FTP and FTPS (explicit TLS, `AUTH TLS` + `PROT P`) delivery with ftplib, run in a thread.

The file is stored under a hidden temporary name and renamed (RNFR/RNTO) once the transfer
completed, so a process watching the directory never picks up a partial file. The directory
is created level by level if missing.

FTPS verifies the server certificate by default; `verify_tls=False` is for self-signed servers
and only protects against passive eavesdropping. Data connections reuse the control
connection's TLS session, which vsftpd and ProFTPD require by default and stock ftplib omits."""

from __future__ import annotations

import asyncio
import ftplib
import io
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from trawl.delivery.media.sender import (
    PROBE_NAME,
    DeliveryContext,
    DeliveryError,
    DeliveryFile,
    DeliveryReceipt,
    short,
    temporary_name,
)

log = logging.getLogger(__name__)

_BLOCK_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class FtpDestination:
    host: str
    username: str
    password: str = field(repr=False)
    port: int = 21
    directory: str = ""
    tls: bool = False  # explicit FTPS
    verify_tls: bool = True
    timeout_seconds: float = 30.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def medium(self) -> str:
        return "ftps" if self.tls else "ftp"


class _SessionReusingFTP_TLS(ftplib.FTP_TLS):
    def ntransfercmd(
        self, cmd: str, rest: int | str | None = None
    ) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:  # type: ignore[attr-defined]
            session = self.sock.session if isinstance(self.sock, ssl.SSLSocket) else None
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        return conn, size


class FtpSender:
    def __init__(self, destination: FtpDestination) -> None:
        self._destination = destination
        self.medium = destination.medium

    async def send(self, file: DeliveryFile, context: DeliveryContext) -> DeliveryReceipt:
        final = await asyncio.to_thread(self._deliver, file)
        destination = self._destination
        log.info(
            "delivery=sent medium=%s org=%s run=%s host=%s path=%s bytes=%d",
            self.medium,
            context.organization_id,
            context.run_id,
            destination.address,
            final,
            file.size,
        )
        return DeliveryReceipt(
            medium=self.medium,
            location=f"{self.medium}://{destination.username}@{destination.address}{final}",
            size=file.size,
        )

    async def check(self) -> None:
        """Log in, enter (or create) the directory and store then delete a tiny probe file."""
        await asyncio.to_thread(self._probe)

    def _deliver(self, file: DeliveryFile) -> str:
        temporary = temporary_name(file.name)
        with self._session() as ftp:
            try:
                with file.path.open("rb") as source:
                    self._step(f"store {temporary}", ftp.storbinary, f"STOR {temporary}", source)
                self._step(f"rename {temporary} to {file.name}", ftp.rename, temporary, file.name)
            except BaseException:
                _delete_quietly(ftp, temporary)
                raise
            return f"{ftp.pwd().rstrip('/')}/{file.name}"

    def _probe(self) -> None:
        with self._session() as ftp:
            probe = io.BytesIO(b"trawl")
            self._step(f"store {PROBE_NAME}", ftp.storbinary, f"STOR {PROBE_NAME}", probe)
            _delete_quietly(ftp, PROBE_NAME)

    @contextmanager
    def _session(self) -> Iterator[ftplib.FTP]:
        destination = self._destination
        ftp = self._client()
        try:
            self._step("connect", ftp.connect, destination.host, destination.port)
            self._step("log in", ftp.login, destination.username, destination.password)
            if isinstance(ftp, ftplib.FTP_TLS):
                self._step("protect the data channel", ftp.prot_p)
            self._enter_directory(ftp)
            yield ftp
            _quit_quietly(ftp)
        finally:
            ftp.close()

    def _client(self) -> ftplib.FTP:
        timeout = self._destination.timeout_seconds
        if not self._destination.tls:
            return ftplib.FTP(timeout=timeout)
        context = ssl.create_default_context()
        if not self._destination.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return _SessionReusingFTP_TLS(context=context, timeout=timeout)

    def _enter_directory(self, ftp: ftplib.FTP) -> None:
        directory = self._destination.directory
        if directory.startswith("/"):
            self._step("enter /", ftp.cwd, "/")
        for part in (p for p in directory.split("/") if p not in ("", ".")):
            try:
                ftp.cwd(part)
            except ftplib.error_perm:
                self._step(f"create directory {part}", ftp.mkd, part)
                self._step(f"enter directory {part}", ftp.cwd, part)

    def _step(self, action: str, call: Callable[..., Any], *args: Any) -> Any:
        """Runs one FTP command, turning any failure into a DeliveryError naming the step."""
        try:
            return call(*args)
        except ftplib.all_errors as exc:
            raise self._error(action, exc) from exc

    def _error(self, action: str, exc: BaseException) -> DeliveryError:
        destination = self._destination
        server = f"{self.medium.upper()} server {destination.address}"
        reason = short(str(exc))
        if isinstance(exc, ftplib.error_perm) and reason.startswith("530"):
            return DeliveryError(
                f"{self.medium.upper()} login refused for user {destination.username!r} "
                f"at {destination.address}: {reason}",
                retryable=False,
            )
        if isinstance(exc, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"{server} presented a TLS certificate that is not trusted "
                f"({exc.verify_message}); for a self-signed server turn off certificate "
                "verification",
                retryable=False,
            )
        if isinstance(exc, ftplib.error_perm):
            return DeliveryError(f"{server} said {reason} (on {action})", retryable=False)
        if isinstance(exc, ftplib.error_temp):
            return DeliveryError(f"{server} said {reason} (on {action})", retryable=True)
        if isinstance(exc, TimeoutError):
            return DeliveryError(f"{server} did not answer in time (on {action})", retryable=True)
        return DeliveryError(f"{server}: could not {action}: {reason}", retryable=True)


def _delete_quietly(ftp: ftplib.FTP, name: str) -> None:
    with suppress(*ftplib.all_errors):
        ftp.delete(name)


def _quit_quietly(ftp: ftplib.FTP) -> None:
    with suppress(*ftplib.all_errors):
        ftp.quit()
