"""Email delivery over SMTP (smtplib in a thread; aiosmtplib is not a dependency).

The file is attached when it fits under `attachment_limit_bytes` (and under the size the
server advertises with the SIZE extension, counting base64's growth); otherwise the mail
carries the download link and when it expires. Either way the body names the report, the run
and the record count, and always includes the link, which survives mail filters that strip
attachments."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from trawl.delivery.media.sender import (
    DeliveryContext,
    DeliveryError,
    DeliveryFile,
    DeliveryReceipt,
    short,
)

log = logging.getLogger(__name__)

MEDIUM = "email"
DEFAULT_ATTACHMENT_LIMIT_BYTES = 10 * 1024 * 1024
# base64 turns 3 bytes into 4 plus line breaks; headers and body add a few kilobytes.
_BASE64_GROWTH = 1.37
_ENVELOPE_ALLOWANCE = 16 * 1024

Security = Literal["starttls", "ssl", "none"]


@dataclass(frozen=True, slots=True)
class EmailDestination:
    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 587
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify_tls: bool = True
    attachment_limit_bytes: int = DEFAULT_ATTACHMENT_LIMIT_BYTES
    timeout_seconds: float = 30.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class EmailSender:
    medium = MEDIUM

    def __init__(self, destination: EmailDestination) -> None:
        self._destination = destination

    async def send(self, file: DeliveryFile, context: DeliveryContext) -> DeliveryReceipt:
        message_id, attached, refused = await asyncio.to_thread(self._deliver, file, context)
        log.info(
            "delivery=sent medium=email org=%s run=%s message_id=%s attached=%s refused=%d",
            context.organization_id,
            context.run_id,
            message_id,
            attached,
            len(refused),
        )
        details = {"attached": "yes" if attached else "no"}
        if refused:
            details["refused_recipients"] = ", ".join(sorted(refused))
        return DeliveryReceipt(medium=MEDIUM, location=message_id, size=file.size, details=details)

    async def check(self) -> None:
        """Connect, EHLO, TLS as configured, log in, and have the server accept the sender
        address (MAIL FROM, then RSET: no mail is sent)."""
        await asyncio.to_thread(self._probe)

    def _deliver(
        self, file: DeliveryFile, context: DeliveryContext
    ) -> tuple[str, bool, dict[str, tuple[int, bytes]]]:
        with self._session() as smtp:
            attach = self._fits(file.size, smtp)
            message = compose(self._destination, file, context, attach=attach)
            try:
                refused = smtp.send_message(message)
            except smtplib.SMTPException as exc:
                raise self._error("send the message", exc) from exc
        return str(message["Message-ID"]), attach, refused

    def _probe(self) -> None:
        with self._session() as smtp:
            try:
                code, answer = smtp.mail(self._destination.sender)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, answer, self._destination.sender)
                smtp.rset()
            except smtplib.SMTPException as exc:
                raise self._error("accept the sender address", exc) from exc

    def _fits(self, size: int, smtp: smtplib.SMTP) -> bool:
        if size > self._destination.attachment_limit_bytes:
            return False
        advertised = smtp.esmtp_features.get("size", "").strip()
        if advertised.isdigit() and int(advertised) > 0:
            return size * _BASE64_GROWTH + _ENVELOPE_ALLOWANCE <= int(advertised)
        return True

    def _session(self) -> smtplib.SMTP:
        """A connected, secured, logged-in client; the caller closes it (`with`)."""
        destination = self._destination
        context = self._tls_context()
        smtp: smtplib.SMTP | None = None
        try:
            if destination.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    destination.host,
                    destination.port,
                    timeout=destination.timeout_seconds,
                    context=context,
                )
            else:
                smtp = smtplib.SMTP(
                    destination.host, destination.port, timeout=destination.timeout_seconds
                )
            smtp.ehlo()
            if destination.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if destination.username:
                smtp.login(destination.username, destination.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                smtp.close()
            raise self._error("connect", exc) from exc
        return smtp

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self._destination.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _error(self, action: str, exc: BaseException) -> DeliveryError:
        destination = self._destination
        server = f"SMTP server {destination.address}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"SMTP login refused for user {destination.username!r} at "
                f"{destination.address}: {exc.smtp_code} {_text(exc.smtp_error)}",
                retryable=False,
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return DeliveryError(f"{server} does not support {exc}", retryable=False)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            refused = ", ".join(
                f"{address} ({code} {_text(text)})"
                for address, (code, text) in exc.recipients.items()
            )
            return DeliveryError(f"{server} refused every recipient: {refused}", retryable=False)
        if isinstance(exc, smtplib.SMTPResponseException):
            return DeliveryError(
                f"{server} said {exc.smtp_code} {_text(exc.smtp_error)} (when asked to {action})",
                retryable=400 <= exc.smtp_code < 500,
            )
        if isinstance(exc, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"{server} presented a TLS certificate that is not trusted "
                f"({exc.verify_message}); for a self-signed server turn off certificate "
                "verification",
                retryable=False,
            )
        reason = short(str(exc)) or type(exc).__name__
        return DeliveryError(f"could not {action} to {server}: {reason}", retryable=True)


def compose(
    destination: EmailDestination, file: DeliveryFile, context: DeliveryContext, *, attach: bool
) -> EmailMessage:
    """The delivery mail: attachment when `attach`, else the link and its expiry."""
    message = EmailMessage()
    run_date = context.finished_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    message["Subject"] = f"{context.report_name}: run of {run_date}"
    message["From"] = destination.sender
    message["To"] = ", ".join(destination.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=destination.sender.rpartition("@")[2] or None)
    expires = file.url_expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"The run of report {context.report_name!r} finished at {run_date} "
        f"with {context.records} records ({context.format}, {file.size} bytes).",
        "",
        f"The file is attached as {file.name}." if attach else "The file is too large to attach.",
        f"Download it until {expires}:",
        file.download_url,
        "",
        f"Run {context.run_id}",
    ]
    message.set_content("\n".join(lines))
    if attach:
        maintype, _, subtype = file.content_type.partition("/")
        message.add_attachment(
            file.path.read_bytes(),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=file.name,
        )
    return message


def _text(value: bytes | str) -> str:
    text = value.decode(errors="replace") if isinstance(value, bytes) else value
    return short(text)
