"""S3 delivery against the moto server: into the customer's bucket with their credentials."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.delivery_servers import delivery_context, delivery_file
from tests.support.moto import MotoServer
from trawl.delivery.media import DeliveryError, S3Destination, S3Sender, check

KEY_ID, SECRET = "AKIACUSTOMER0000TEST", "customer-secret"


def s3(endpoint: str, key_id: str = KEY_ID, secret: str = SECRET) -> Any:
    return boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


@pytest.fixture
def bucket(moto_server: MotoServer) -> str:
    name = f"customer-{uuid.uuid4().hex[:12]}"
    s3(moto_server.endpoint).create_bucket(Bucket=name)
    return name


def destination(moto_server: MotoServer, bucket: str, **changes: object) -> S3Destination:
    base = S3Destination(
        bucket=bucket,
        prefix="trawl/daily/",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        endpoint_url=moto_server.endpoint,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_delivers_exact_bytes_under_the_prefix(
    moto_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    file = delivery_file(tmp_path, size=100_000)

    receipt = await S3Sender(destination(moto_server, bucket)).send(file, delivery_context())

    stored = s3(moto_server.endpoint).get_object(Bucket=bucket, Key="trawl/daily/run-1.csv.gz")
    assert stored["Body"].read() == file.path.read_bytes()
    assert stored["ContentType"] == "application/gzip"
    assert receipt.location == f"s3://{bucket}/trawl/daily/run-1.csv.gz"
    assert receipt.size == file.size


async def test_large_file_goes_up_in_parts(
    moto_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    file = delivery_file(tmp_path, size=17 * 1024 * 1024)  # over the multipart threshold

    await S3Sender(destination(moto_server, bucket, prefix="")).send(file, delivery_context())

    head = s3(moto_server.endpoint).head_object(Bucket=bucket, Key=file.name)
    assert head["ContentLength"] == file.size
    assert "-" in head["ETag"]  # "<md5 of part md5s>-<parts>": a multipart upload


async def test_missing_bucket_is_not_retryable(moto_server: MotoServer, tmp_path: Path) -> None:
    sender = S3Sender(destination(moto_server, "no-such-bucket-trawl"))

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert not caught.value.retryable
    assert str(caught.value) == "S3 bucket 'no-such-bucket-trawl' does not exist"


async def test_unreachable_endpoint_is_retryable(tmp_path: Path) -> None:
    from tests.support.moto import free_port

    sender = S3Sender(
        S3Destination(
            bucket="b",
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            endpoint_url=f"http://127.0.0.1:{free_port()}",
        )
    )

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert caught.value.retryable


async def test_check_writes_and_removes_a_probe(moto_server: MotoServer, bucket: str) -> None:
    await check(destination(moto_server, bucket))

    listed = s3(moto_server.endpoint).list_objects_v2(Bucket=bucket)
    assert listed.get("KeyCount", 0) == 0


async def test_check_reports_a_missing_bucket(moto_server: MotoServer) -> None:
    with pytest.raises(DeliveryError, match="S3 bucket 'absent-trawl-bucket' does not exist"):
        await check(destination(moto_server, "absent-trawl-bucket"))


# --- credentials checked: a moto server that authenticates every request ---------------------


@pytest.fixture(scope="module")
def authenticating_moto() -> Iterator[MotoServer]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "0")  # moto: verify signatures from the start
        server = MotoServer()
        server.start()
    yield server
    server.stop()


async def test_unknown_access_key_is_not_retryable(
    authenticating_moto: MotoServer, tmp_path: Path
) -> None:
    sender = S3Sender(destination(authenticating_moto, "any-bucket"))

    with pytest.raises(DeliveryError) as caught:
        await sender.send(delivery_file(tmp_path), delivery_context())

    assert not caught.value.retryable
    assert str(caught.value).startswith(f"S3 rejected the access key '{KEY_ID}'")


async def test_check_reports_an_unknown_access_key(authenticating_moto: MotoServer) -> None:
    with pytest.raises(DeliveryError, match="S3 rejected the access key"):
        await check(destination(authenticating_moto, "any-bucket"))


def test_secrets_stay_out_of_reprs() -> None:
    shown = repr(S3Destination(bucket="b", access_key_id=KEY_ID, secret_access_key=SECRET))

    assert SECRET not in shown
    assert os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT") is None
