"""MongoRecordSink against the test server (FerretDB from scripts/test.sh, or any
MongoDB-compatible server at TRAWL_TEST_MONGO_URL): idempotent batched upserts, replays counted
as matched, reversible payload-key escaping, dead letters, concurrent writers, the dataset
query the indexes serve, organization isolation, and commands split to the chunk limit.
Each test writes into a database of its own, dropped afterwards."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import ASCENDING, MongoClient
from pymongo.monitoring import CommandListener, CommandStartedEvent

from tests.servers import require_mongo_url
from trawl.stream.sinks.mongo import (
    MAX_OPS_PER_COMMAND,
    MongoRecordSink,
    RetryPolicy,
    WriteResult,
    escape_key,
    read_payload,
    record_document,
    unescape_key,
)

Doc = dict[str, Any]
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def database() -> Iterator[str]:
    name = f"trawl_sink_{uuid.uuid4().hex[:12]}"
    yield name
    client: MongoClient[Doc] = MongoClient(require_mongo_url(), serverSelectionTimeoutMS=5000)
    client.drop_database(name)
    client.close()


def _sink(database: str, **options: Any) -> MongoRecordSink:
    sink = MongoRecordSink(require_mongo_url(), database, retry=FAST_RETRY, **options)
    sink.ensure_indexes()
    return sink


@pytest.fixture
def sink(database: str) -> Iterator[MongoRecordSink]:
    with _sink(database) as s:
        yield s


def envelope(seq: int, *, org: str = "org-a", run: str = "run-1", **payload: Any) -> Doc:
    return {
        "record_id": f"rec-{seq:05d}",
        "organization_id": org,
        "project_id": f"{org}-project",
        "report_id": f"{org}-report",
        "run_id": run,
        "attempt": 1,
        "sequence": seq,
        "emitted_at": "2026-11-27T10:00:00+00:00",
        "payload": payload or {"title": f"item {seq}", "price": seq * 1.5},
    }


def write_batches(sink: MongoRecordSink, envelopes: list[Doc], size: int) -> WriteResult:
    total = WriteResult()
    for start in range(0, len(envelopes), size):
        total.add(sink.write(envelopes[start : start + size]))
    return total


def test_batches_and_replays_store_each_record_once(sink: MongoRecordSink) -> None:
    envelopes = [envelope(i) for i in range(1, 1001)]

    first = write_batches(sink, envelopes, 200)
    assert first == WriteResult(upserted=1000, matched=0, dead_lettered=0)
    assert sink.records.count_documents({}) == 1000

    replay = write_batches(sink, envelopes, 200)
    assert replay == WriteResult(upserted=0, matched=1000, dead_lettered=0)

    # A partial batch straddling two earlier batches, with changed payloads: first wins.
    overlap = [envelope(i, title="changed") for i in range(150, 260)]
    assert sink.write(overlap) == WriteResult(upserted=0, matched=110, dead_lettered=0)
    assert sink.records.count_documents({}) == 1000
    stored = sink.records.find_one({"_id": "run-1:rec-00200"})
    assert stored is not None
    assert read_payload(stored) == {"title": "item 200", "price": 300.0}
    assert stored["sequence"] == 200 and stored["organization_id"] == "org-a"


def test_payload_keys_round_trip(sink: MongoRecordSink) -> None:
    payload: Doc = {
        "a.b": 1,
        "$set": {"x.y": [{"$z": 2, "ok": None}], "mid$dle": True},
        "\uff0e": 3,
        "\uff04lead": 4,
        "mid\uff04": 5,
        "\uff05.\uff05": 6,
        "plain": "v",
    }
    assert sink.write([envelope(1, **payload)]).upserted == 1

    stored = sink.records.find_one({"_id": "run-1:rec-00001"})
    assert stored is not None
    assert "a.b" not in stored["payload"] and "$set" not in stored["payload"]
    assert read_payload(stored) == payload


@pytest.mark.parametrize("key", ["", ".", "$", "$$.", "a.$b", "\uff05", "\uff04$", "x\uff05"])
def test_key_escaping_is_reversible(key: str) -> None:
    escaped = escape_key(key)
    assert "." not in escaped and not escaped.startswith("$")
    assert unescape_key(escaped) == key


def test_dead_letters_keep_reason_and_raw(sink: MongoRecordSink) -> None:
    bad = envelope(7, title=None)
    sink.dead_letter(bad, "schema: title is required")
    sink.dead_letter(bad, "schema: title is required")  # replayed: one document
    sink.dead_letter(b"\xff not json", "undecodable record")

    letters = {d["_id"]: d for d in sink.dead_letters.find()}
    assert len(letters) == 2
    letter = letters["run-1:rec-00007"]
    assert letter["reason"] == "schema: title is required"
    assert json.loads(letter["raw"]) == bad
    assert (letter["organization_id"], letter["report_id"]) == ("org-a", "org-a-report")
    assert letter["at"] is not None
    raw_letter = next(d for i, d in letters.items() if i.startswith("raw:"))
    assert raw_letter["reason"] == "undecodable record" and "run_id" not in raw_letter


def test_unstorable_values_go_to_dead_letters(sink: MongoRecordSink) -> None:
    batch = [
        envelope(1),
        envelope(2, price=float("nan")),
        envelope(3, nested={"v": [float("inf")]}),
        envelope(4, big=2**70),
        envelope(5),
    ]
    assert sink.write(batch) == WriteResult(upserted=2, matched=0, dead_lettered=3)
    reasons = {d["record_id"]: d["reason"] for d in sink.dead_letters.find()}
    assert "non-finite number nan at payload.price" in reasons["rec-00002"]
    assert "payload.nested.v[0]" in reasons["rec-00003"]
    assert "64 bits" in reasons["rec-00004"]


def test_a_poison_document_is_isolated_and_dead_lettered(sink: MongoRecordSink) -> None:
    """A document that passed the checks but fails on the server (here NaN, which makes
    FerretDB drop the connection) must not block the rest of its chunk. Servers that store
    NaN (MongoDB, SecantusDB) simply take it."""
    docs = [record_document(envelope(i)) for i in range(1, 6)]
    docs[2]["payload"]["price"] = float("nan")  # past the client-side checks
    result = sink._write_chunk(docs)
    assert result.upserted + result.dead_lettered == 5 and result.dead_lettered <= 1
    assert sink.records.count_documents({}) == 5 - result.dead_lettered
    letter = sink.dead_letters.find_one({"_id": "run-1:rec-00003"})
    if result.dead_lettered:
        assert letter is not None and "not stored after 3 attempts" in letter["reason"]
        assert sink.records.count_documents({"_id": "run-1:rec-00003"}) == 0
    else:
        assert letter is None


def test_concurrent_sinks_write_each_record_once(database: str) -> None:
    # Two writers of 40 statements stay under FerretDB's 100-connection pool per database.
    envelopes = [envelope(i) for i in range(1, 301)]
    results: list[WriteResult] = []
    errors: list[BaseException] = []

    def run(order: list[Doc]) -> None:
        try:
            with _sink(database, chunk_size=40) as own:
                results.append(write_batches(own, order, 100))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(envelopes,)),
        threading.Thread(target=run, args=(envelopes[::-1],)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(results) == 2
    for result in results:
        assert result.upserted + result.matched == 300 and result.dead_lettered == 0
    with _sink(database) as check:
        assert check.records.count_documents({}) == 300


def test_indexed_run_page_and_org_isolation(sink: MongoRecordSink) -> None:
    runs = [("org-a", "run-a1"), ("org-a", "run-a2"), ("org-b", "run-b1")]
    for org, run in runs:
        # Written out of order: the page must come from the sort, not insertion order.
        sink.write([envelope(i, org=org, run=run) for i in range(50, 0, -1)])

    keys = {tuple(ix["key"].keys()) for ix in sink.records.list_indexes()}
    assert {
        ("organization_id", "run_id", "sequence"),
        ("organization_id", "report_id", "run_id"),
        ("organization_id", "project_id"),
    } <= keys

    page = list(
        sink.records.find({"organization_id": "org-a", "run_id": "run-a2"})
        .sort("sequence", ASCENDING)
        .skip(20)
        .limit(10)
    )
    assert [d["sequence"] for d in page] == list(range(21, 31))
    assert {d["run_id"] for d in page} == {"run-a2"}

    assert sink.records.count_documents({"organization_id": "org-a"}) == 100
    assert sink.records.count_documents({"organization_id": "org-a", "run_id": "run-b1"}) == 0
    org_a_runs = sink.records.distinct("run_id", {"organization_id": "org-a"})
    assert sorted(org_a_runs) == ["run-a1", "run-a2"]


class UpdateSizes(CommandListener):
    def __init__(self) -> None:
        self.sizes: list[int] = []

    def started(self, event: CommandStartedEvent) -> None:
        if event.command_name == "update":
            self.sizes.append(len(event.command["updates"]))

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


def test_writes_are_split_into_chunks(database: str) -> None:
    listener = UpdateSizes()
    with _sink(database, chunk_size=7, event_listeners=[listener]) as sink:
        assert sink.write([envelope(i) for i in range(1, 31)]).upserted == 30
    assert listener.sizes == [7, 7, 7, 7, 2]
    with pytest.raises(ValueError):
        MongoRecordSink(require_mongo_url(), database, chunk_size=MAX_OPS_PER_COMMAND + 1)
