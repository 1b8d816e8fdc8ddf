"""Real servers on loopback for the delivery media tests: asyncssh's SFTP server, pyftpdlib
(plain and explicit TLS), aiosmtpd, and an HTTP receiver that checks webhook signatures with
the same `verify_signature` customers are told to use. Each serves a tmp directory or keeps
what it received in memory, so tests assert on exact bytes."""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import os
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncssh
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

from tests.support.moto import free_port
from trawl.delivery.media.sender import DeliveryContext, DeliveryFile
from trawl.delivery.media.signature import SIGNATURE_HEADER, SignatureError, verify_signature

HOST = "127.0.0.1"


def self_signed_certificate(directory: Path, host: str = HOST) -> tuple[Path, Path]:
    """A fresh key and self-signed certificate for `host`, as PEM files (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def delivery_file(directory: Path, size: int = 4096, name: str = "run-1.csv.gz") -> DeliveryFile:
    """A file of `size` random bytes, as the export step would hand it over."""
    path = directory / name
    path.write_bytes(os.urandom(size))
    return DeliveryFile(
        path=path,
        name=name,
        content_type="application/gzip",
        size=size,
        download_url=f"https://downloads.trawl.test/exports/{name}?X-Amz-Signature=abc",
        url_expires_at=datetime.datetime(2030, 1, 8, 12, 0, tzinfo=datetime.UTC),
    )


def delivery_context(run_id: str = "run-1") -> DeliveryContext:
    return DeliveryContext(
        organization_id="org-1",
        report_id="report-1",
        report_name="Daily prices",
        run_id=run_id,
        records=1234,
        format="csv",
        compression="gzip",
        finished_at=datetime.datetime(2030, 1, 1, 6, 30, tzinfo=datetime.UTC),
    )


# --- SFTP -----------------------------------------------------------------------------------


class _PasswordServer(asyncssh.SSHServer):
    def __init__(self, users: dict[str, str]) -> None:
        self._users = users

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return self._users.get(username) == password


class _ReadOnlySFTPServer(asyncssh.SFTPServer):
    """Refuses every write, as a server does for a user without write permission (tests run
    as root, for whom file modes would not refuse anything)."""

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT):
            raise asyncssh.SFTPPermissionDenied("read-only account")
        return super().open(path, pflags, attrs)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise asyncssh.SFTPPermissionDenied("read-only account")


@dataclass
class SftpServer:
    """asyncssh's SFTP server chrooted to `root`, password auth, a generated host key."""

    root: Path
    users: dict[str, str]
    port: int = field(default_factory=free_port)
    host_key: asyncssh.SSHKey = field(
        default_factory=lambda: asyncssh.generate_private_key("ssh-ed25519")
    )
    read_only: bool = False
    _acceptor: asyncssh.SSHAcceptor | None = None

    @property
    def fingerprint(self) -> str:
        return str(self.host_key.get_fingerprint("sha256"))

    async def start(self) -> None:
        root = os.fsencode(self.root)
        sftp_server = _ReadOnlySFTPServer if self.read_only else asyncssh.SFTPServer
        self._acceptor = await asyncssh.listen(
            HOST,
            self.port,
            server_host_keys=[self.host_key],
            server_factory=lambda: _PasswordServer(self.users),
            sftp_factory=lambda channel: sftp_server(channel, chroot=root),
            allow_scp=False,
        )

    async def stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None


# --- FTP / FTPS -----------------------------------------------------------------------------


@dataclass
class FtpServer:
    """pyftpdlib serving `root` to one user, in a thread; explicit TLS when given a cert."""

    root: Path
    username: str
    password: str
    certificate: tuple[Path, Path] | None = None
    port: int = field(default_factory=free_port)
    _server: FTPServer | None = None
    _thread: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        authorizer = DummyAuthorizer()
        authorizer.add_user(self.username, self.password, str(self.root), perm="elradfmwMT")
        handler: Any = self._handler_class()
        handler.authorizer = authorizer
        handler.passive_ports = None
        handler.auth_failed_timeout = 0.05  # pyftpdlib waits 3 s after a bad password
        self._server = FTPServer((HOST, self.port), handler)
        self._thread = threading.Thread(target=self._serve, name="test-ftpd", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _handler_class(self) -> type[Any]:
        if self.certificate is None:
            return type("TestFTPHandler", (FTPHandler,), {})
        from pyftpdlib.handlers import TLS_FTPHandler  # needs pyOpenSSL

        cert, key = self.certificate
        return type(
            "TestTLSHandler",
            (TLS_FTPHandler,),
            {"certfile": str(cert), "keyfile": str(key), "tls_control_required": True},
        )

    def _serve(self) -> None:
        assert self._server is not None
        while not self._stopping.is_set():
            self._server.serve_forever(timeout=0.05, blocking=False)
        self._server.close_all()


# --- SMTP -----------------------------------------------------------------------------------


@dataclass
class _Collector:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"


@dataclass
class SmtpServer:
    """aiosmtpd collecting every message; optional AUTH (one user) and STARTTLS."""

    users: dict[str, str] = field(default_factory=dict)
    certificate: tuple[Path, Path] | None = None
    data_size_limit: int = 33_554_432  # aiosmtpd's default, advertised as SIZE
    port: int = field(default_factory=free_port)
    collector: _Collector = field(default_factory=_Collector)
    _controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages

    def start(self) -> None:
        kwargs: dict[str, Any] = {"data_size_limit": self.data_size_limit}
        if self.users:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        if self.certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.certificate)
            kwargs.update(tls_context=context)
        self._controller = Controller(
            self.collector, hostname=HOST, port=self.port, ready_timeout=10, **kwargs
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = self.users.get(data.login.decode()) == data.password.decode()
        # handled=False: aiosmtpd answers the client itself (535 on failure).
        return AuthResult(success=ok, handled=False)


# --- webhook receiver -----------------------------------------------------------------------


@dataclass
class ReceivedWebhook:
    body: bytes
    headers: dict[str, str]
    signature_error: str | None  # None: verify_signature accepted it


@dataclass
class WebhookReceiver:
    """An HTTP server that checks each POST with `verify_signature(secret, ...)` and answers
    `status` (401 when the signature is wrong, as a customer's receiver should)."""

    secret: str
    status: int = 200
    port: int = field(default_factory=free_port)
    received: list[ReceivedWebhook] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hooks/trawl"

    def start(self) -> None:
        self._server = ThreadingHTTPServer((HOST, self.port), _handler(self._receive))
        threading.Thread(
            target=self._server.serve_forever, name="test-webhook", daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _receive(self, body: bytes, headers: dict[str, str]) -> int:
        error: str | None = None
        try:
            verify_signature(self.secret, body, headers.get(SIGNATURE_HEADER.lower(), ""))
        except SignatureError as exc:
            error = str(exc)
        self.received.append(ReceivedWebhook(body, headers, error))
        return 401 if error else self.status


def _handler(receive: Callable[[bytes, dict[str, str]], int]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            status = receive(body, headers)
            answer = f"status {status}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
