"""Delivery end to end: a generic.html run on the fixture shop (990 products) on the full
platform (worker, stream job, event path) is delivered, once its dataset is ready, to SFTP (CSV), a signature-checking webhook (JSON)
and S3 (Parquet, moto); each file is byte for byte what `exportDataset` gives. A destination
that never answers ends FAILED with its error (and a DeliveryFailed audit event) while the
others succeed; one that is down for its first attempts is delivered once it is back."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import e2e_settings, start_full_platform
from tests.servers import require_mongo_url
from tests.support.delivery_servers import SftpServer, WebhookReceiver
from tests.support.graphql import (
    GraphQLClient,
    Person,
    new_owner_with_project,
    new_report,
    trigger_run,
)
from tests.support.moto import MotoServer
from tests.support.platform import RunningPlatform, free_port
from tests.support.runs import wait_for_run
from tests.support.stream_rig import StreamRig, mongo_proxy, stream_overrides, wait_for_dataset
from tests.support.temporal import TemporalDevServer
from trawl.demo.catalog import expected_products
from trawl.demo.fixture_site import RunningSite, serve_fixture_site
from trawl.demo.report_fields import catalog_parameters
from trawl.events.aws import aws_client
from trawl.graphql.relay import from_global_id

pytestmark = pytest.mark.e2e

SFTP_PASSWORD = "sftp-deliv-5e1f"
WEBHOOK_SECRET = "whsec_deliv_93ab"
RECORDS = [{"n": i, "text": f"record {i}"} for i in range(30)]
DELIVERIES = """query($id: ID!) { run(id: $id) { deliveries {
  destinationId medium state attempts lastError deliveredAt location } } }"""
EXPORT = """mutation($input: ExportDatasetInput!) { exportDataset(input: $input) {
  export { url fileName } errors { field message code } } }"""


@pytest.fixture(scope="module")
async def rig_platform(
    moto_server: MotoServer,
    temporal_server: TemporalDevServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningPlatform]:
    mongo_url = require_mongo_url()
    proxy = mongo_proxy(mongo_url)
    await proxy.start()
    data_dir = tmp_path_factory.mktemp("delivery-e2e")
    settings = e2e_settings(
        data_dir,
        moto_server.endpoint,
        temporal_server.address,
        delivery_retry_initial_seconds=0.5,
        delivery_max_attempts=4,
        **stream_overrides(proxy),
    )
    running = await start_full_platform(settings)
    rig = StreamRig(settings, proxy, mongo_url)
    try:
        await rig.start_job()
        yield running
    finally:
        await rig.stop_job()
        await running.platform.stop()
        await proxy.cut()


PRODUCTS = len(expected_products())


@pytest.fixture(scope="module")
def site() -> Iterator[RunningSite]:
    running = serve_fixture_site(0)
    yield running
    running.stop()


@pytest.fixture
async def gql(rig_platform: RunningPlatform) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield GraphQLClient(rig_platform, http)


@pytest.fixture
async def sftp(tmp_path: Path) -> AsyncIterator[SftpServer]:
    server = SftpServer(root=tmp_path / "sftp", users={"alice": SFTP_PASSWORD})
    server.root.mkdir()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret=WEBHOOK_SECRET)
    receiver.start()
    yield receiver
    receiver.stop()


def _sftp(server: SftpServer, port: int | None = None) -> dict[str, Any]:
    return {
        "medium": "SFTP",
        "format": "CSV",
        "fileNameTemplate": "{run_id}.{format_ext}",
        "config": {
            "host": "127.0.0.1",
            "port": port or server.port,
            "username": "alice",
            "directory": "out",
            "hostKeyFingerprint": server.fingerprint,
        },
        "secrets": {"password": SFTP_PASSWORD},
    }


def _webhook(receiver: WebhookReceiver) -> dict[str, Any]:
    return {
        "medium": "WEBHOOK",
        "format": "JSON",
        "config": {"url": receiver.url},
        "secrets": {"secret": WEBHOOK_SECRET},
    }


def _s3(platform: RunningPlatform, bucket: str) -> dict[str, Any]:
    settings = platform.settings
    return {
        "medium": "S3",
        "format": "PARQUET",
        "config": {
            "bucket": bucket,
            "region": settings.aws_region,
            "accessKeyId": "testing",
            "prefix": "deliveries",
            "endpointUrl": settings.aws_endpoint,
        },
        "secrets": {"secretAccessKey": "testing"},
    }


async def _report(
    gql: GraphQLClient, destinations: list[dict[str, Any]], **report: Any
) -> tuple[Person, str, str, list[str]]:
    """(owner, org id, report id, destination ids); a demo.echo report of RECORDS unless
    `report` says otherwise."""
    owner, org, project = await new_owner_with_project(gql)
    fields = report or {"parameters": {"records": RECORDS}}
    created = await new_report(gql, owner, project, **fields)
    report_id = created["id"]
    payload = await gql.mutate(
        "setReportDestinations",
        {"reportId": report_id, "destinations": destinations},
        "destinations { id }",
        token=owner.token,
    )
    assert payload["errors"] == [], payload
    return owner, org, report_id, [d["id"] for d in payload["destinations"]]


async def _deliveries(gql: GraphQLClient, owner: Person, run_id: str) -> list[dict[str, Any]]:
    result = await gql.execute(DELIVERIES, {"id": run_id}, token=owner.token)
    assert not result.errors, result.errors
    deliveries: list[dict[str, Any]] = result.data["run"]["deliveries"]
    return deliveries


async def _wait_final(
    gql: GraphQLClient, owner: Person, run_id: str, count: int, within: float = 90.0
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + within
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = await _deliveries(gql, owner, run_id)
        if len(found) == count and all(d["state"] in ("DELIVERED", "FAILED") for d in found):
            return {d["destinationId"]: d for d in found}
        await asyncio.sleep(0.25)
    raise AssertionError(f"deliveries of {run_id} not final in {within}s: {found}")


async def _exported(gql: GraphQLClient, owner: Person, run_id: str, fmt: str) -> bytes:
    result = await gql.execute(
        EXPORT, {"input": {"runId": run_id, "format": fmt}}, token=owner.token
    )
    payload = result.data["exportDataset"]
    assert payload["errors"] == [], payload
    return await _download(payload["export"]["url"])


async def _download(url: str) -> bytes:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(url)
        response.raise_for_status()
        return response.content


async def _run_to_dataset(gql: GraphQLClient, owner: Person, report_id: str) -> str:
    run_id = await trigger_run(gql, owner, report_id)
    assert (await wait_for_run(gql, owner, run_id, within_seconds=240))["state"] == "SUCCEEDED"
    await wait_for_dataset(gql, owner, run_id)
    return run_id


def _raw(global_id: str) -> str:
    return from_global_id(global_id)[1]


async def test_each_destination_gets_the_exported_dataset_and_a_dead_one_fails(
    gql: GraphQLClient,
    rig_platform: RunningPlatform,
    sftp: SftpServer,
    webhook: WebhookReceiver,
    site: RunningSite,
) -> None:
    bucket = f"deliv-{uuid.uuid4().hex[:8]}"
    s3 = aws_client(rig_platform.settings, "s3")
    await asyncio.to_thread(s3.create_bucket, Bucket=bucket)
    closed_port = free_port()
    owner, org, report_id, ids = await _report(
        gql,
        [
            _sftp(sftp),
            _webhook(webhook),
            _s3(rig_platform, bucket),
            _sftp(sftp, port=closed_port),
        ],
        serviceCode="generic.html",
        recordKeyFields=["id"],
        parameters=catalog_parameters(site.url),
    )
    run_id = await _run_to_dataset(gql, owner, report_id)
    deliveries = await _wait_final(gql, owner, run_id, 4, within=180)
    sftp_id, hook_id, s3_id, dead_id = ids

    for delivered in (sftp_id, hook_id, s3_id):
        assert deliveries[delivered]["state"] == "DELIVERED", deliveries
        assert deliveries[delivered]["attempts"] == 1 and deliveries[delivered]["deliveredAt"]
    dead = deliveries[dead_id]
    assert dead["state"] == "FAILED" and dead["attempts"] == 4, dead
    assert dead["lastError"] and str(closed_port) in dead["lastError"], dead

    raw_run = _raw(run_id)
    csv = (sftp.root / "out" / f"{raw_run}.csv").read_bytes()
    assert csv == await _exported(gql, owner, run_id, "CSV")
    assert len(csv.decode().strip().splitlines()) == PRODUCTS + 1

    assert len(webhook.received) == 1
    hook = webhook.received[0]
    assert hook.signature_error is None
    body = json.loads(hook.body)
    assert body["counts"]["records"] == PRODUCTS
    assert await _download(body["download_url"]) == await _exported(gql, owner, run_id, "JSON")

    listed = await asyncio.to_thread(s3.list_objects_v2, Bucket=bucket, Prefix="deliveries/")
    (key,) = [o["Key"] for o in listed["Contents"]]
    assert key.endswith(".parquet") and deliveries[s3_id]["location"] == f"s3://{bucket}/{key}"
    obj = await asyncio.to_thread(s3.get_object, Bucket=bucket, Key=key)
    assert obj["Body"].read() == await _exported(gql, owner, run_id, "PARQUET")

    audit = await gql.execute(
        """query($id: ID!) { organization(id: $id) {
          auditLog(type: "DeliveryFailed") { nodes { type data } } } }""",
        {"id": org},
        token=owner.token,
    )
    nodes = audit.data["organization"]["auditLog"]["nodes"]
    assert [n["data"]["destinationId"] for n in nodes] == [_raw(dead_id)], nodes
    assert SFTP_PASSWORD not in json.dumps(nodes)


async def test_a_destination_down_for_its_first_attempts_is_delivered_once_back(
    gql: GraphQLClient, tmp_path: Path
) -> None:
    server = SftpServer(root=tmp_path / "late", users={"alice": SFTP_PASSWORD})
    server.root.mkdir()
    owner, _, report_id, (dest_id,) = await _report(gql, [_sftp(server)])
    run_id = await _run_to_dataset(gql, owner, report_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = await _deliveries(gql, owner, run_id)
        # A second attempt has started: the first one failed.
        if found and found[0]["attempts"] >= 2 and found[0]["lastError"]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the delivery never failed twice")
    await server.start()
    try:
        delivery = (await _wait_final(gql, owner, run_id, 1))[dest_id]
    finally:
        await server.stop()
    assert delivery["state"] == "DELIVERED", delivery
    assert delivery["attempts"] > 1 and delivery["lastError"] is None
    delivered = server.root / "out" / f"{_raw(run_id)}.csv"
    assert delivered.exists()

    delivered.unlink()
    await server.start()
    try:
        payload = await gql.mutate(
            "redeliver",
            {"runId": run_id, "destinationId": dest_id},
            "delivery { state attempts }",
            token=owner.token,
        )
        assert payload["errors"] == [] and payload["delivery"]["state"] == "PENDING", payload
        again = (await _wait_final(gql, owner, run_id, 1))[dest_id]
    finally:
        await server.stop()
    assert again["state"] == "DELIVERED" and again["attempts"] == 1, again
    assert delivered.exists()
