"""S3 delivery: the file as an object under the customer's bucket and prefix, written with the
customer's own credentials (never the platform's: a shared role writing wherever a customer
points it would let one tenant use our permissions against another's bucket).

boto3 is synchronous, so calls run in a thread. `upload_file` streams from disk and switches
to a multipart upload above the threshold, so memory stays constant whatever the file size; an
S3 object only becomes visible once complete, so no temporary name is needed."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from trawl.delivery.media.sender import (
    PROBE_NAME,
    DeliveryContext,
    DeliveryError,
    DeliveryFile,
    DeliveryReceipt,
)

log = logging.getLogger(__name__)

MEDIUM = "s3"
_TRANSFER = TransferConfig(multipart_threshold=16 * 1024 * 1024, max_concurrency=4)
_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
_RETRYABLE = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling"}
_WRONG_REGION = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraint"}


@dataclass(frozen=True, slots=True)
class S3Destination:
    bucket: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    prefix: str = ""
    region: str = "us-east-1"
    session_token: str | None = field(default=None, repr=False)
    # For S3-compatible stores (MinIO, R2, ...) and for tests; None means AWS.
    endpoint_url: str | None = None

    def key(self, name: str) -> str:
        prefix = self.prefix.strip("/")
        return f"{prefix}/{name}" if prefix else name


class S3Sender:
    medium = MEDIUM

    def __init__(self, destination: S3Destination) -> None:
        self._destination = destination

    async def send(self, file: DeliveryFile, context: DeliveryContext) -> DeliveryReceipt:
        key = self._destination.key(file.name)
        await asyncio.to_thread(self._upload, file, key)
        location = f"s3://{self._destination.bucket}/{key}"
        log.info(
            "delivery=sent medium=s3 org=%s run=%s location=%s bytes=%d",
            context.organization_id,
            context.run_id,
            location,
            file.size,
        )
        return DeliveryReceipt(medium=MEDIUM, location=location, size=file.size)

    async def check(self) -> None:
        """PutObject of a tiny probe under the prefix (the permission delivery needs; HeadBucket
        would need ListBucket, which a write-only policy rightly lacks), then a best-effort
        delete of it."""
        await asyncio.to_thread(self._probe)

    def _upload(self, file: DeliveryFile, key: str) -> None:
        client = self._client()
        try:
            client.upload_file(
                str(file.path),
                self._destination.bucket,
                key,
                ExtraArgs={"ContentType": file.content_type},
                Config=_TRANSFER,
            )
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise self._error(exc, "upload to") from exc

    def _probe(self) -> None:
        client = self._client()
        key = self._destination.key(PROBE_NAME)
        try:
            client.put_object(Bucket=self._destination.bucket, Key=key, Body=b"trawl")
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, "write to") from exc
        try:
            client.delete_object(Bucket=self._destination.bucket, Key=key)
        except (BotoCoreError, ClientError):
            log.info("delivery=check medium=s3 probe_left=%s", key)

    def _client(self) -> Any:
        destination = self._destination
        # A session per call: boto3's default session is not safe to share across threads.
        return boto3.session.Session().client(
            "s3",
            region_name=destination.region,
            endpoint_url=destination.endpoint_url,
            aws_access_key_id=destination.access_key_id,
            aws_secret_access_key=destination.secret_access_key,
            aws_session_token=destination.session_token,
            config=Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"mode": "standard", "max_attempts": 3},
            ),
        )

    def _error(self, exc: Exception, action: str) -> DeliveryError:
        where = f"s3://{self._destination.bucket}/{self._destination.key('')}"
        client_error = _client_error(exc)
        if isinstance(exc, ParamValidationError):
            return DeliveryError(f"invalid S3 destination {where}: {exc}", retryable=False)
        if client_error is None:
            return DeliveryError(f"could not {action} {where}: {exc}", retryable=True)
        error = client_error.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(client_error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        bucket = self._destination.bucket
        if code == "NoSuchBucket" or status == 404:
            return DeliveryError(f"S3 bucket {bucket!r} does not exist", retryable=False)
        if code in _CREDENTIALS:
            return DeliveryError(
                f"S3 rejected the access key {self._destination.access_key_id!r} ({code}); "
                "check the key id and secret",
                retryable=False,
            )
        if code in _WRONG_REGION or status == 301:
            return DeliveryError(
                f"S3 bucket {bucket!r} is not in region {self._destination.region!r} ({code})",
                retryable=False,
            )
        if code == "AccessDenied" or status == 403:
            return DeliveryError(
                f"S3 denied PutObject on {where} for access key "
                f"{self._destination.access_key_id!r}; allow s3:PutObject on that prefix",
                retryable=False,
            )
        message = str(error.get("Message", "")) or code
        return DeliveryError(
            f"S3 answered {status} {code} on {action} {where}: {message}",
            retryable=status >= 500 or status == 429 or code in _RETRYABLE,
        )


def _client_error(exc: BaseException) -> ClientError | None:
    """The ClientError behind `exc`: upload_file wraps it in S3UploadFailedError."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, ClientError):
            return current
        current = current.__cause__ or current.__context__
    return None
