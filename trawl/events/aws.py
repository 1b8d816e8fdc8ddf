"""The one place boto3 clients are made: endpoint, region and credentials from settings.

With an endpoint (the embedded moto server) the credentials are fake; without one boto3 talks
to AWS through its default credential chain. Timeouts are short and retries few so an
unreachable service fails within seconds and the caller's own backoff takes over."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from trawl.config import Settings

_FAKE_CREDENTIAL = "testing"


def client_config(*, connect_timeout: float = 2.0, read_timeout: float = 10.0) -> Config:
    # read_timeout must outlast SQS long polls (WaitTimeSeconds) made with these clients.
    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=20,
    )


def aws_client(settings: Settings, service_name: str, *, config: Config | None = None) -> Any:
    """A boto3 client for `service_name` ("events", "sqs", "dynamodb", ...).

    boto3 clients are thread-safe, so one client may serve many `asyncio.to_thread` calls."""
    kwargs: dict[str, Any] = {
        "region_name": settings.aws_region,
        "config": config or client_config(),
    }
    endpoint = settings.aws_endpoint
    if endpoint:
        kwargs.update(
            endpoint_url=endpoint,
            aws_access_key_id=_FAKE_CREDENTIAL,
            aws_secret_access_key=_FAKE_CREDENTIAL,
            aws_session_token=_FAKE_CREDENTIAL,
        )
    # A session per client: boto3's default session is not safe to share across threads.
    return boto3.session.Session().client(service_name, **kwargs)


def ensure_table(client: Any, table: str, partition_key: str, sort_key: str) -> None:
    """Creates a pay-per-request table with string hash and range keys unless it exists, and
    waits until it is usable. Safe to race: "already exists" is success."""
    try:
        client.create_table(
            TableName=table,
            AttributeDefinitions=[
                {"AttributeName": partition_key, "AttributeType": "S"},
                {"AttributeName": sort_key, "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": partition_key, "KeyType": "HASH"},
                {"AttributeName": sort_key, "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
    waiter = client.get_waiter("table_exists")
    waiter.wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
