"""`exportDataset` over GraphQL: a run's records (written with the stream's MongoDB sink into
the test FerretDB) exported by the reports service to S3 (moto) in each format, downloaded
through the presigned URL, byte for byte what `trawl.exports` writes for the same records,
and readable with the format's own library. Another organization's run is refused, and the
system-only export for deliveries refuses users."""

from __future__ import annotations

import csv
import gzip
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pyarrow.parquet as pq
import pytest
from pymongo import MongoClient

from tests.servers import require_mongo_url
from tests.support.graphql import GraphQLClient, new_owner_with_project, new_report, trigger_run
from tests.support.moto import MotoServer, aws_settings
from tests.support.platform import RunningPlatform, free_port, start_platform
from tests.support.runs import raw_id
from trawl.exports.export import export_records
from trawl.grpc_services.gen.datasets.v1 import datasets_pb2, datasets_pb2_grpc
from trawl.stream.sinks.mongo import MongoRecordSink

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "price": {"type": "number"},
        "stock": {"type": "integer"},
        "dims": {"type": "object", "properties": {"width": {"type": "integer"}}},
    },
}
EXPORT = """mutation($input: ExportDatasetInput!) { exportDataset(input: $input) {
  export { url expiresAt fileName contentType size records } errors { field message } } }"""


@pytest.fixture(scope="module")
def mongo_database() -> Iterator[str]:
    name = f"trawl_export_{uuid.uuid4().hex[:12]}"
    yield name
    client: MongoClient[dict[str, Any]] = MongoClient(require_mongo_url())
    client.drop_database(name)
    client.close()


@pytest.fixture(scope="module")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, mongo_database: str, moto_server: MotoServer
) -> AsyncIterator[RunningPlatform]:
    data_dir: Path = tmp_path_factory.mktemp("platform-export")
    settings = aws_settings(
        moto_server.endpoint,
        data_dir,
        db_url=f"sqlite+aiosqlite:///{data_dir / 'trawl.db'}",
        gateway_port=free_port(),
        issuer_port=free_port(),
        grpc_port=free_port(),
        mongo_uri=require_mongo_url(),
        mongo_database=mongo_database,
        records_bucket=f"trawl-export-{uuid.uuid4().hex[:8]}",
    )
    running = await start_platform(settings, "sqlite")
    yield running
    await running.platform.stop()


def _records(ids: dict[str, str], count: int) -> list[dict[str, Any]]:
    return [
        {
            "record_id": f"rec-{i:03d}",
            "organization_id": ids["org"],
            "project_id": ids["project"],
            "report_id": ids["report"],
            "run_id": ids["run"],
            "attempt": 1,
            "sequence": i,
            "emitted_at": "2026-11-27T10:00:00+00:00",
            "payload": {
                "title": f'Item, "{i}"',
                "price": i * 1.25,
                "stock": i,
                "dims": {"width": i * 2},
            },
        }
        for i in range(1, count + 1)
    ]


async def _seed(gql: GraphQLClient, mongo_database: str) -> tuple[Any, str, list[dict[str, Any]]]:
    owner, org, project = await new_owner_with_project(gql)
    report = (await new_report(gql, owner, project, recordSchema=SCHEMA))["id"]
    run = await trigger_run(gql, owner, report)
    ids = {
        k: raw_id(v)
        for k, v in {"org": org, "project": project, "report": report, "run": run}.items()
    }
    records = _records(ids, 40)
    with MongoRecordSink(require_mongo_url(), mongo_database) as sink:
        sink.ensure_indexes()
        sink.write(list(reversed(records)))  # stored out of order; exported in order
    return owner, run, records


def _expected_bytes(records: list[dict[str, Any]], fmt: str, compression: str, name: str) -> bytes:
    out = io.BytesIO()
    entry = name[: -len(".gz")] if name.endswith(".gz") else name
    entry = entry[: -len(".zip")] if entry.endswith(".zip") else entry
    export_records(records, fmt, compression, SCHEMA, out, entry_name=entry)
    return out.getvalue()


async def test_an_export_downloads_byte_for_byte_and_reads_back(
    gql: GraphQLClient, mongo_database: str
) -> None:
    owner, run, records = await _seed(gql, mongo_database)
    for fmt, compression in (("CSV", "GZIP"), ("PARQUET", "NONE"), ("JSONL", "ZIP")):
        payload = (
            await gql.execute(
                EXPORT,
                {"input": {"runId": run, "format": fmt, "compression": compression}},
                token=owner.token,
            )
        ).data["exportDataset"]
        assert payload["errors"] == [], payload
        export = payload["export"]
        assert export["records"] == 40
        async with httpx.AsyncClient() as http:
            body = (await http.get(export["url"])).content
        assert len(body) == export["size"]
        expected = _expected_bytes(records, fmt.lower(), compression.lower(), export["fileName"])
        assert body == expected
        if fmt == "CSV":
            rows = list(csv.DictReader(io.StringIO(gzip.decompress(body).decode())))
            assert [r["title"] for r in rows[:2]] == ['Item, "1"', 'Item, "2"']
            assert rows[0]["dims.width"] == "2"
            # Columns in the order of the report's record schema, envelope ids first.
            assert list(rows[0]) == [
                "record_id",
                "sequence",
                "title",
                "price",
                "stock",
                "dims.width",
            ]
        if fmt == "PARQUET":
            table = pq.read_table(io.BytesIO(body)).to_pylist()
            assert [row["sequence"] for row in table] == list(range(1, 41))
    # A second export of the same run and options is the same object, same bytes.
    again = (
        await gql.execute(
            EXPORT,
            {"input": {"runId": run, "format": "CSV", "compression": "GZIP"}},
            token=owner.token,
        )
    ).data["exportDataset"]["export"]
    async with httpx.AsyncClient() as http:
        assert (await http.get(again["url"])).content == _expected_bytes(
            records, "csv", "gzip", again["fileName"]
        )


async def test_another_organizations_run_cannot_be_exported(
    gql: GraphQLClient, mongo_database: str
) -> None:
    _, run, _ = await _seed(gql, mongo_database)
    stranger, _, _ = await new_owner_with_project(gql)
    result = await gql.execute(
        EXPORT, {"input": {"runId": run, "format": "JSON"}}, token=stranger.token
    )
    payload = result.data["exportDataset"]
    assert payload["export"] is None
    assert "not found" in json.dumps(payload["errors"]).lower()


async def test_the_delivery_export_is_for_platform_components_only(
    gql: GraphQLClient, platform: RunningPlatform, mongo_database: str
) -> None:
    owner, run, _ = await _seed(gql, mongo_database)
    async with grpc.aio.insecure_channel(platform.grpc_target) as channel:
        stub = datasets_pb2_grpc.DatasetsServiceStub(channel)
        request = datasets_pb2.ExportRunRecordsRequest(run_id=raw_id(run), format="csv")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ExportRunForDelivery(
                request, metadata=(("authorization", f"Bearer {owner.token}"),)
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        system = platform.issuer.mint(
            subject="trawl-system@clients",
            machine=True,
            permissions=[platform.settings.system_permission],
        )
        reply = await stub.ExportRunForDelivery(
            request, metadata=(("authorization", f"Bearer {system}"),)
        )
        assert reply.records == 40 and reply.key.endswith("records.csv")
