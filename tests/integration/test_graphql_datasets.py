"""Feature tests of datasets: `Run.dataset` and `Report.latestDataset` over GraphQL, against
records written with the stream's MongoDB sink into the test MongoDB server (FerretDB from
scripts/test.sh). This module runs its own platform pointed at a database of its own.
Runs are created with triggerRun (no worker: they stay QUEUED unless moved with the system
TransitionRun call); records are written under those runs' raw ids."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from pymongo import MongoClient

from tests.servers import require_mongo_url
from tests.support.graphql import (
    GraphQLClient,
    Person,
    new_owner_with_project,
    new_person,
    new_report,
    trigger_run,
)
from tests.support.platform import RunningPlatform, platform_settings, start_platform
from tests.support.runs import raw_id
from tests.support.system_calls import system_caller
from trawl.grpc_services.gen.datasets.v1 import datasets_pb2, datasets_pb2_grpc
from trawl.stream.sinks.mongo import MongoRecordSink

RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "price": {"type": "number"},
        "stock": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string"},
        "dims": {"type": "object", "properties": {"width": {"type": "integer"}}},
        "a.b": {"type": "string"},
    },
}
DATASET = """query($run: ID!, $first: Int, $after: String, $filter: [DatasetCondition!],
  $fields: [String!]) { run(id: $run) { dataset(first: $first, after: $after, filter: $filter,
  fields: $fields) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { recordId attempt sequence emittedAt data } } run { id } } } }"""
LATEST = """query($report: ID!) { report(id: $report) { latestDataset(first: 100) {
  totalCount run { id } nodes { recordId } } } }"""


@dataclass
class Seeded:
    owner: Person
    report: str
    run: str
    raw_ids: dict[str, str]  # org, project, report, run
    payloads: dict[str, dict[str, Any]]  # record id → payload
    order: list[str]  # record ids in (attempt, sequence, record id) order


@pytest.fixture(scope="module")
def mongo_database() -> Iterator[str]:
    name = f"trawl_datasets_{uuid.uuid4().hex[:12]}"
    yield name
    client: MongoClient[dict[str, Any]] = MongoClient(
        require_mongo_url(), serverSelectionTimeoutMS=5000
    )
    client.drop_database(name)
    client.close()


@pytest.fixture(scope="module")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, mongo_database: str
) -> AsyncIterator[RunningPlatform]:
    data_dir: Path = tmp_path_factory.mktemp("platform-datasets")
    settings = platform_settings(
        data_dir,
        f"sqlite+aiosqlite:///{data_dir / 'trawl.db'}",
        mongo_uri=require_mongo_url(),
        mongo_database=mongo_database,
    )
    running = await start_platform(settings, "sqlite")
    yield running
    await running.platform.stop()


@pytest.fixture(scope="module")
def sink(mongo_database: str) -> Iterator[MongoRecordSink]:
    with MongoRecordSink(require_mongo_url(), mongo_database) as s:
        s.ensure_indexes()
        yield s


def payload(i: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "title": f"Item {i:02d}",
        "price": i * 1.5,
        "stock": i % 7,
        "tags": ["red", "sale"] if i % 3 == 0 else ["blue"],
        "dims": {"width": i},
    }
    if i % 5 == 0:
        doc["note"] = f"note {i}"
    if i == 1:
        doc["a.b"] = "dotted"
    if i == 2:
        doc["title"] = "Lamp (large) [v2.*]"
    return doc


def envelopes(ids: dict[str, str], count: int) -> list[dict[str, Any]]:
    """Attempt 1: records 1..30 at sequence i; attempt 2: the rest, two per sequence (the
    record id breaks the tie), sequences lower than attempt 1's. Written out of order."""
    out = []
    for i in range(count, 0, -1):
        attempt, sequence = (1, i) if i <= 30 else (2, (i - 31) // 2)
        out.append(
            {
                "record_id": f"rec-{i:03d}",
                "organization_id": ids["org"],
                "project_id": ids["project"],
                "report_id": ids["report"],
                "run_id": ids["run"],
                "attempt": attempt,
                "sequence": sequence,
                "emitted_at": "2026-11-27T10:00:00+00:00",
                "payload": payload(i),
            }
        )
    return out


async def seed(gql: GraphQLClient, sink: MongoRecordSink, count: int = 50) -> Seeded:
    owner, org, project = await new_owner_with_project(gql)
    report = (await new_report(gql, owner, project, recordSchema=RECORD_SCHEMA))["id"]
    run = await trigger_run(gql, owner, report)
    ids = {"org": org, "project": project, "report": report, "run": run}
    raw_ids = {k: raw_id(v) for k, v in ids.items()}
    written = envelopes(raw_ids, count)
    assert sink.write(written).upserted == count
    order = sorted(written, key=lambda e: (e["attempt"], e["sequence"], e["record_id"]))
    return Seeded(
        owner=owner,
        report=report,
        run=run,
        raw_ids=raw_ids,
        payloads={e["record_id"]: e["payload"] for e in written},
        order=[e["record_id"] for e in order],
    )


async def dataset(gql: GraphQLClient, seeded: Seeded, **variables: Any) -> dict[str, Any]:
    result = await gql.execute(DATASET, {"run": seeded.run, **variables}, token=seeded.owner.token)
    found: dict[str, Any] = result.data["run"]["dataset"]
    return found


async def matching(gql: GraphQLClient, seeded: Seeded, *conditions: dict[str, Any]) -> list[str]:
    found = await dataset(gql, seeded, first=100, filter=list(conditions), fields=[])
    assert found["totalCount"] == len(found["edges"])
    return [edge["node"]["recordId"] for edge in found["edges"]]


def expected(seeded: Seeded, test: Any) -> list[str]:
    return [r for r in seeded.order if test(seeded.payloads[r])]


async def test_pages_are_stable_complete_and_in_record_order(
    gql: GraphQLClient, sink: MongoRecordSink
) -> None:
    seeded = await seed(gql, sink)
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = await dataset(gql, seeded, first=7, after=after)
        assert page["totalCount"] == 50
        assert page["run"] == {"id": seeded.run}
        seen += [edge["node"]["recordId"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == seeded.order  # every record once, in (attempt, sequence, record id)
    first = (await dataset(gql, seeded, first=7))["edges"][0]["node"]
    assert first["recordId"] == "rec-001" and first["attempt"] == 1 and first["sequence"] == 1
    assert first["emittedAt"] == "2026-11-27T10:00:00+00:00"
    assert first["data"] == payload(1)  # the dotted key comes back as emitted
    assert (await dataset(gql, seeded, first=7, after=after))["edges"] == []


async def test_each_filter_operator_selects_the_matching_records(
    gql: GraphQLClient, sink: MongoRecordSink
) -> None:
    s = await seed(gql, sink)
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"field": "title", "op": "EQ", "value": "Item 07"}, lambda p: p["title"] == "Item 07"),
        ({"field": "stock", "op": "IN", "value": [0, 6]}, lambda p: p["stock"] in (0, 6)),
        ({"field": "price", "op": "GT", "value": 60}, lambda p: p["price"] > 60),
        ({"field": "price", "op": "GTE", "value": 60}, lambda p: p["price"] >= 60),
        ({"field": "price", "op": "LT", "value": 6}, lambda p: p["price"] < 6),
        ({"field": "price", "op": "LTE", "value": 6}, lambda p: p["price"] <= 6),
        ({"field": "note", "op": "EXISTS", "value": True}, lambda p: "note" in p),
        ({"field": "note", "op": "EXISTS", "value": False}, lambda p: "note" not in p),
        ({"field": "title", "op": "CONTAINS", "value": "ITEM 1"}, lambda p: "Item 1" in p["title"]),
        ({"field": "title", "op": "CONTAINS", "value": "[V2.*]"}, lambda p: "[v2" in p["title"]),
        ({"field": "title", "op": "CONTAINS", "value": "i.e"}, lambda p: False),
        ({"field": "tags", "op": "CONTAINS", "value": "red"}, lambda p: "red" in p["tags"]),
        ({"field": "dims.width", "op": "GTE", "value": 45}, lambda p: p["dims"]["width"] >= 45),
        ({"field": "a.b", "op": "EQ", "value": "dotted"}, lambda p: p.get("a.b") == "dotted"),
    ]
    for condition, test in cases:
        found = await matching(gql, s, condition)
        assert found == expected(s, test), condition
        assert found or condition["value"] == "i.e", condition
    both = await matching(
        gql,
        s,
        {"field": "tags", "op": "CONTAINS", "value": "red"},
        {"field": "price", "op": "LT", "value": 30},
    )
    assert both == expected(s, lambda p: "red" in p["tags"] and p["price"] < 30)


async def test_a_filtered_dataset_pages_with_its_own_total(
    gql: GraphQLClient, sink: MongoRecordSink
) -> None:
    s = await seed(gql, sink)
    condition = [{"field": "stock", "op": "GTE", "value": 3}]
    want = expected(s, lambda p: p["stock"] >= 3)
    seen: list[str] = []
    after = None
    while True:
        page = await dataset(gql, s, first=4, after=after, filter=condition)
        assert page["totalCount"] == len(want)
        seen += [edge["node"]["recordId"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == want


async def test_projection_returns_only_the_selected_fields(
    gql: GraphQLClient, sink: MongoRecordSink
) -> None:
    s = await seed(gql, sink, count=5)
    page = await dataset(gql, s, first=5, fields=["title", "dims.width", "a.b"])
    assert page["totalCount"] == 5
    for edge in page["edges"]:
        node, full = edge["node"], s.payloads[edge["node"]["recordId"]]
        want = {"title": full["title"], "dims": {"width": full["dims"]["width"]}}
        if "a.b" in full:
            want["a.b"] = full["a.b"]
        assert node["data"] == want
        assert node["attempt"] == 1 and node["sequence"] >= 1 and node["emittedAt"]
    bare = await dataset(gql, s, first=5, fields=[])
    assert [edge["node"]["data"] for edge in bare["edges"]] == [{}] * 5


async def test_undeclared_fields_and_wrong_types_are_errors_naming_the_field(
    gql: GraphQLClient, sink: MongoRecordSink
) -> None:
    s = await seed(gql, sink, count=3)
    refusals = [
        ({"filter": [{"field": "colour", "op": "EQ", "value": "red"}]}, "'colour'"),
        ({"filter": [{"field": "organization_id", "op": "EQ", "value": "x"}]}, "'organization_id'"),
        ({"filter": [{"field": "price", "op": "GT", "value": "cheap"}]}, "'price'"),
        ({"filter": [{"field": "title", "op": "IN", "value": "Item 01"}]}, "'title'"),
        ({"fields": ["title", "secret"]}, "'secret'"),
    ]
    for variables, name in refusals:
        result = await gql.execute(DATASET, {"run": s.run, **variables}, token=s.owner.token)
        assert result.error_codes == ["INVALID_INPUT"], result.body
        assert name in result.errors[0]["message"]
        assert result.errors[0]["extensions"]["field"] in ("filter", "fields")
        assert result.body["data"]["run"]["dataset"] is None


async def test_mongo_operators_in_values_are_never_operators(
    gql: GraphQLClient, sink: MongoRecordSink
) -> None:
    s = await seed(gql, sink, count=10)
    for condition in (
        {"field": "price", "op": "EQ", "value": {"$gt": 1}},
        {"field": "title", "op": "EQ", "value": {"$ne": None}},
        {"field": "title", "op": "IN", "value": [{"$exists": True}]},
        {"field": "title", "op": "CONTAINS", "value": {"$regex": ".*"}},
        {"field": "$where", "op": "EXISTS", "value": True},
    ):
        result = await gql.execute(
            DATASET, {"run": s.run, "filter": [condition]}, token=s.owner.token
        )
        assert result.error_codes == ["INVALID_INPUT"], (condition, result.body)
    # As text, an operator-looking or regex-looking value is a literal that matches nothing.
    assert await matching(gql, s, {"field": "title", "op": "EQ", "value": '{"$gt": ""}'}) == []
    assert await matching(gql, s, {"field": "title", "op": "CONTAINS", "value": ".+"}) == []


async def test_records_of_another_organization_are_not_found(
    gql: GraphQLClient, sink: MongoRecordSink
) -> None:
    victim = await seed(gql, sink, count=5)
    attacker_owner, _org, project = await new_owner_with_project(gql)
    attacker = await seed(gql, sink, count=3)
    stranger = await new_person(gql, "stranger")
    for person in (attacker_owner, attacker.owner, stranger):
        result = await gql.execute(DATASET, {"run": victim.run}, token=person.token)
        assert result.body["data"]["run"] is None, result.body
        latest = await gql.execute(LATEST, {"report": victim.report}, token=person.token)
        assert latest.body["data"]["report"] is None
    async with grpc.aio.insecure_channel(gql.platform.grpc_target) as channel:
        stub = datasets_pb2_grpc.DatasetsServiceStub(channel)
        metadata = (("authorization", f"Bearer {attacker.owner.token}"),)
        for call, request in (
            (stub.ListRunRecords, datasets_pb2.ListRunRecordsRequest(run_id=raw_id(victim.run))),
            (
                stub.ListLatestReportRecords,
                datasets_pb2.ListLatestReportRecordsRequest(report_id=raw_id(victim.report)),
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(request, metadata=metadata)
            assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    # A document claiming the attacker's run under another organization is not theirs.
    planted = envelopes(
        {"org": "someone-else", "project": "p", "report": "r", "run": raw_id(attacker.run)}, 1
    )
    planted[0]["record_id"] = "planted"
    sink.write(planted)
    mine = await dataset(gql, attacker, first=10)
    assert mine["totalCount"] == 3
    assert "planted" not in [edge["node"]["recordId"] for edge in mine["edges"]]
    assert project  # the attacker's own project exists; it holds no victim data


async def test_latest_dataset_is_the_last_succeeded_run(
    gql: GraphQLClient, sink: MongoRecordSink
) -> None:
    s = await seed(gql, sink, count=4)
    none_yet = await gql.execute(LATEST, {"report": s.report}, token=s.owner.token)
    assert none_yet.data["report"]["latestDataset"] is None
    older = await trigger_run(gql, s.owner, s.report)
    newer = await trigger_run(gql, s.owner, s.report)
    pending = await trigger_run(gql, s.owner, s.report)
    for run_id, count in ((older, 2), (newer, 3), (pending, 6)):
        sink.write(envelopes({**s.raw_ids, "run": raw_id(run_id)}, count))
    async with system_caller(gql.platform) as system:
        await system.succeed(raw_id(older))
        await system.succeed(raw_id(newer))
    latest = (await gql.execute(LATEST, {"report": s.report}, token=s.owner.token)).data
    dataset_ = latest["report"]["latestDataset"]
    assert dataset_["run"] == {"id": newer}
    assert dataset_["totalCount"] == 3
    assert [n["recordId"] for n in dataset_["nodes"]] == ["rec-001", "rec-002", "rec-003"]
