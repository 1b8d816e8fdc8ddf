"""From a destination config to its medium's sender: the one place that knows every medium."""

from __future__ import annotations

from trawl.delivery.media.ftp import FtpDestination, FtpSender
from trawl.delivery.media.s3 import S3Destination, S3Sender
from trawl.delivery.media.sender import Sender
from trawl.delivery.media.sftp import SftpDestination, SftpSender
from trawl.delivery.media.smtp import EmailDestination, EmailSender
from trawl.delivery.media.webhook import WebhookDestination, WebhookSender

Destination = (
    S3Destination | SftpDestination | FtpDestination | EmailDestination | WebhookDestination
)


def sender_for(destination: Destination) -> Sender:
    match destination:
        case S3Destination():
            return S3Sender(destination)
        case SftpDestination():
            return SftpSender(destination)
        case FtpDestination():
            return FtpSender(destination)
        case EmailDestination():
            return EmailSender(destination)
        case WebhookDestination():
            return WebhookSender(destination)


async def check(destination: Destination) -> None:
    """Probe `destination` (connect, log in, prove write access) without delivering; raises
    DeliveryError with a message for the user. Backs the `testDestination` mutation."""
    await sender_for(destination).check()
