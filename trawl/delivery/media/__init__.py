"""One async sender per delivery medium, all of the shape in `sender.py`.

    sender = sender_for(SftpDestination(host=..., username=..., password=...))
    receipt = await sender.send(file, context)   # DeliveryError(retryable=...) on failure
    await check(destination)                     # probe without delivering

`verify_signature` (signature.py) is the reference check for webhook receivers."""

from trawl.delivery.media.ftp import FtpDestination, FtpSender
from trawl.delivery.media.s3 import S3Destination, S3Sender
from trawl.delivery.media.sender import (
    DeliveryContext,
    DeliveryError,
    DeliveryFile,
    DeliveryReceipt,
    Sender,
)
from trawl.delivery.media.senders import Destination, check, sender_for
from trawl.delivery.media.sftp import SftpDestination, SftpSender
from trawl.delivery.media.signature import SignatureError, sign, verify_signature
from trawl.delivery.media.smtp import EmailDestination, EmailSender
from trawl.delivery.media.webhook import WebhookDestination, WebhookSender

__all__ = [
    "DeliveryContext",
    "DeliveryError",
    "DeliveryFile",
    "DeliveryReceipt",
    "Destination",
    "EmailDestination",
    "EmailSender",
    "FtpDestination",
    "FtpSender",
    "S3Destination",
    "S3Sender",
    "Sender",
    "SftpDestination",
    "SftpSender",
    "SignatureError",
    "WebhookDestination",
    "WebhookSender",
    "check",
    "sender_for",
    "sign",
    "verify_signature",
]
