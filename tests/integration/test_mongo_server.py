"""The MongoDB operations the stream job's records sink relies on (issue 5, part 4), run
against the test server (FerretDB from scripts/ferretdb.sh; any MongoDB-compatible server at
TRAWL_TEST_MONGO_URL): `_id` = record id and a unique (org, record id) index, idempotent bulk
upserts that a replay cannot duplicate (also when writers replay the same batch at once),
indexed find sorted by (run, sequence) with skip/limit, filtered counts, and isolation between
databases and collections.

Only behaviour MongoDB shares is asserted here. FerretDB 1.24 (SQLite) differences the sink
must live with:
- an `update` command holds one SQLite connection per statement that matched an existing
  document until the command ends, from a pool of 100 per database: more than 100 such
  statements in flight on one database (in one bulk_write, or summed over concurrent writers)
  hang that database until the server restarts. Hence MAX_UPDATES_PER_COMMAND and a socket
  timeout on clients;
- an update command with a write error stops there even when unordered, reports a wrong
  index, and omits n/nModified, so pymongo raises KeyError('nModified'), not BulkWriteError;
- concurrent upserts of one new key surface DuplicateKeyError (MongoDB retries those itself);
- field names containing "." or starting with "$" are rejected; Decimal128 and NaN values make
  the server drop the connection (AutoReconnect: the whole batch fails, every time);
  +-Infinity is rejected; -0.0 reads back as 0.0;
- ReplaceOne counts unchanged documents as modified; unique indexes on array fields accept a
  shared element; no transactions, change streams, TTL or partial indexes."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from pymongo import ASCENDING, DESCENDING, MongoClient, ReplaceOne, UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from tests.servers import require_mongo_url

Doc = dict[str, Any]
DUPLICATE_KEY = 11000
# FerretDB 1.24 (SQLite) hangs on an update command with more than 100 matching statements.
MAX_UPDATES_PER_COMMAND = 100


@pytest.fixture(scope="module")
def client() -> Iterator[MongoClient[Doc]]:
    mongo: MongoClient[Doc] = MongoClient(
        require_mongo_url(), serverSelectionTimeoutMS=5000, socketTimeoutMS=30_000
    )
    mongo.admin.command("ping")
    yield mongo
    mongo.close()


def _fresh_database(client: MongoClient[Doc]) -> Iterator[Database[Doc]]:
    name = f"trawl_test_{uuid.uuid4().hex[:12]}"
    yield client[name]
    client.drop_database(name)


@pytest.fixture
def db(client: MongoClient[Doc]) -> Iterator[Database[Doc]]:
    yield from _fresh_database(client)


@pytest.fixture
def other_db(client: MongoClient[Doc]) -> Iterator[Database[Doc]]:
    yield from _fresh_database(client)


def record(org: str, run: str, sequence: int, **data: Any) -> Doc:
    """A record as the sink stores it: `_id` is the record id."""
    return {
        "_id": f"{run}-{sequence:06d}",
        "org": org,
        "run": run,
        "sequence": sequence,
        "data": data or {"title": f"item {sequence}"},
    }


def upserts(records: Sequence[Doc]) -> list[UpdateOne]:
    return [
        UpdateOne(
            {"_id": r["_id"]}, {"$set": {k: v for k, v in r.items() if k != "_id"}}, upsert=True
        )
        for r in records
    ]


def write_batch(
    collection: Collection[Doc], ops: Sequence[UpdateOne | ReplaceOne]
) -> tuple[int, int]:
    """The sink's write: unordered bulk upserts in chunks of MAX_UPDATES_PER_COMMAND. An
    upsert that lost an insert race to another writer fails with a duplicate-key error; the
    whole chunk is then written again (upserts are idempotent: it now matches the winner's
    document). Whole chunks, because FerretDB skips the statements after a failed one even
    when unordered, reports a wrong index, and omits the counts from its reply (pymongo
    then raises KeyError('nModified') instead of BulkWriteError). Returns (upserted, matched)
    of the attempts that succeeded."""
    upserted = matched = 0
    for first in range(0, len(ops), MAX_UPDATES_PER_COMMAND):
        chunk = ops[first : first + MAX_UPDATES_PER_COMMAND]
        for _ in range(5):
            try:
                result = collection.bulk_write(chunk, ordered=False)
            except BulkWriteError as exc:
                if any(e["code"] != DUPLICATE_KEY for e in exc.details["writeErrors"]):
                    raise
            except KeyError as exc:  # FerretDB's reply to an update with write errors
                if exc.args != ("nModified",):
                    raise
            else:
                upserted += result.upserted_count
                matched += result.matched_count
                break
        else:
            raise AssertionError(f"upserts still conflicting after 5 attempts: {chunk}")
    return upserted, matched


def test_id_is_the_record_id_and_a_second_insert_is_rejected(db: Database[Doc]) -> None:
    records = db.records
    records.insert_one(record("org-a", "run-1", 1))
    with pytest.raises(DuplicateKeyError):
        records.insert_one(record("org-a", "run-1", 1))
    # Integer and string ids are different keys and sort as numbers before strings.
    records.insert_many([{"_id": 10}, {"_id": 2}, {"_id": "2"}])
    assert [d["_id"] for d in records.find({"_id": {"$in": [10, 2, "2"]}}).sort("_id", 1)] == [
        2,
        10,
        "2",
    ]


def test_unique_index_on_org_and_record_id(db: Database[Doc]) -> None:
    records = db.records
    records.create_index(
        [("org", ASCENDING), ("record_id", ASCENDING)], unique=True, name="org_record"
    )
    assert records.index_information()["org_record"]["unique"] is True
    records.insert_one({"org": "org-a", "record_id": "r1"})
    records.insert_one({"org": "org-b", "record_id": "r1"})  # same id, another organization
    with pytest.raises(DuplicateKeyError):
        records.insert_one({"org": "org-a", "record_id": "r1"})
    # Upserts keyed by the pair: a replay matches, never inserts a second document.
    ops = [
        UpdateOne({"org": "org-a", "record_id": f"r{i}"}, {"$set": {"data": {"i": i}}}, upsert=True)
        for i in range(1, 6)
    ]
    first = records.bulk_write(ops, ordered=False)
    assert (first.upserted_count, first.matched_count) == (4, 1)
    replay = records.bulk_write(ops, ordered=False)
    assert (replay.upserted_count, replay.matched_count) == (0, 5)
    assert records.count_documents({"org": "org-a"}) == 5
    assert records.count_documents({}) == 6
    assert records.find_one({"org": "org-a", "record_id": "r3"}, {"_id": 0}) == {
        "org": "org-a",
        "record_id": "r3",
        "data": {"i": 3},
    }


def test_replayed_bulk_upserts_do_not_duplicate(db: Database[Doc]) -> None:
    records = db.records
    batch = [record("org-a", "run-1", i) for i in range(80)]
    first = records.bulk_write(upserts(batch), ordered=False)
    assert (first.upserted_count, first.matched_count) == (80, 0)
    replay = records.bulk_write(upserts(batch), ordered=False)
    assert (replay.upserted_count, replay.matched_count, replay.modified_count) == (0, 80, 0)

    # Larger batches go in chunks; a replay of them matches every record.
    batch += [record("org-a", "run-1", i) for i in range(80, 300)]
    assert write_batch(records, upserts(batch)) == (220, 80)
    assert write_batch(records, upserts(batch)) == (0, 300)

    # Recovery replays a batch of which only a part had been written, plus new records.
    overlapping = batch[200:] + [record("org-a", "run-1", i) for i in range(300, 350)]
    assert write_batch(records, upserts(overlapping)) == (50, 100)

    assert records.count_documents({}) == 350
    assert records.find_one({"_id": "run-1-000042"}) == batch[42]


def test_replayed_replace_upserts_do_not_duplicate(db: Database[Doc]) -> None:
    records = db.records
    batch = [record("org-a", "run-1", i) for i in range(100)]
    ops = [ReplaceOne({"_id": r["_id"]}, r, upsert=True) for r in batch]
    first = records.bulk_write(ops, ordered=False)
    assert (first.upserted_count, first.matched_count) == (100, 0)
    replay = records.bulk_write(ops, ordered=False)
    # (nModified is not asserted: FerretDB counts unchanged replaced documents as modified.)
    assert (replay.upserted_count, replay.matched_count) == (0, 100)
    # A replaced document is the new version whole, not a merge.
    records.bulk_write([ReplaceOne({"_id": "run-1-000007"}, {"org": "org-a", "v": 2}, upsert=True)])
    assert records.find_one({"_id": "run-1-000007"}) == {
        "_id": "run-1-000007",
        "org": "org-a",
        "v": 2,
    }
    assert records.count_documents({}) == 100


def test_two_writers_replaying_one_batch_at_once_converge(client: MongoClient[Doc]) -> None:
    """Two writers (a job and its restored replay) upsert the same new records concurrently:
    retrying duplicate-key errors leaves exactly one document per record."""
    name = f"trawl_test_{uuid.uuid4().hex[:12]}"
    batch = [record("org-a", "run-1", i) for i in range(200)]
    failures: list[BaseException] = []
    start = threading.Barrier(3)

    def writer(seed: int) -> None:
        mongo: MongoClient[Doc] = MongoClient(
            require_mongo_url(), serverSelectionTimeoutMS=5000, socketTimeoutMS=30_000
        )
        try:
            ops = upserts(batch)
            random.Random(seed).shuffle(ops)
            start.wait()
            for i in range(0, len(ops), 20):
                write_batch(mongo[name].records, ops[i : i + 20])  # 3 x 20 <= 100
        except BaseException as exc:
            failures.append(exc)
        finally:
            mongo.close()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert client[name].records.count_documents({}) == 200
        assert sorted(d["_id"] for d in client[name].records.find({}, {"_id": 1})) == [
            r["_id"] for r in batch
        ]
    finally:
        client.drop_database(name)


def test_indexed_find_sorted_by_run_and_sequence_with_skip_and_limit(db: Database[Doc]) -> None:
    records = db.records
    records.create_index(
        [("org", ASCENDING), ("run", ASCENDING), ("sequence", ASCENDING)], name="org_run_sequence"
    )
    assert records.index_information()["org_run_sequence"]["key"] == [
        ("org", 1),
        ("run", 1),
        ("sequence", 1),
    ]
    batch = [record("org-a", run, i) for run in ("run-1", "run-2") for i in range(120)]
    batch += [record("org-b", "run-3", i) for i in range(30)]
    random.Random(5).shuffle(batch)
    write_batch(records, upserts(batch))

    page = records.find({"org": "org-a", "run": "run-2"}).sort(
        [("run", ASCENDING), ("sequence", ASCENDING)]
    )
    assert [d["sequence"] for d in page.skip(95).limit(10)] == list(range(95, 105))  # numeric
    last = records.find({"org": "org-a", "run": "run-2"}).sort("sequence", DESCENDING).limit(3)
    assert [d["sequence"] for d in last] == [119, 118, 117]
    both = records.find({"org": "org-a"}, {"run": 1, "sequence": 1, "_id": 0}).sort(
        [("run", ASCENDING), ("sequence", ASCENDING)]
    )
    rows = [(d["run"], d["sequence"]) for d in both.skip(115).limit(10)]
    assert rows == [("run-1", i) for i in range(115, 120)] + [("run-2", i) for i in range(5)]
    # Past the end: an empty page, not an error.
    assert list(records.find({"org": "org-b"}).sort("sequence", 1).skip(30).limit(10)) == []


def test_count_documents_with_filters(db: Database[Doc]) -> None:
    records = db.records
    records.create_index([("org", ASCENDING), ("run", ASCENDING), ("sequence", ASCENDING)])
    batch = [record("org-a", "run-1", i) for i in range(40)]
    batch += [record("org-a", "run-2", i) for i in range(25)]
    batch += [record("org-b", "run-3", i) for i in range(10)]
    write_batch(records, upserts(batch))
    assert records.count_documents({"org": "org-a"}) == 65
    assert records.count_documents({"org": "org-a", "run": "run-2"}) == 25
    assert records.count_documents({"run": "run-1", "sequence": {"$gte": 30}}) == 10
    assert records.count_documents({"org": "org-a", "run": "run-3"}) == 0
    assert records.count_documents({"org": "org-a"}, skip=60, limit=10) == 5
    assert records.estimated_document_count() == 75


def test_databases_and_collections_are_isolated(db: Database[Doc], other_db: Database[Doc]) -> None:
    write_batch(db.records, upserts([record("org-a", "run-1", i) for i in range(5)]))
    write_batch(other_db.records, upserts([record("org-b", "run-9", i) for i in range(3)]))
    write_batch(db.dead_letters, upserts([record("org-a", "run-1", 99)]))

    assert db.records.count_documents({}) == 5
    assert other_db.records.count_documents({}) == 3
    assert db.records.count_documents({"org": "org-b"}) == 0
    assert other_db.records.find_one({"_id": "run-1-000000"}) is None
    assert db.dead_letters.count_documents({}) == 1
    assert db.records.find_one({"_id": "run-1-000099"}) is None
    # The same _id in two databases: two documents, each keeping its own content.
    db.records.insert_one({"_id": "shared", "owner": "a"})
    other_db.records.insert_one({"_id": "shared", "owner": "b"})
    assert db.records.find_one({"_id": "shared"}) == {"_id": "shared", "owner": "a"}
    # Dropping one leaves the other untouched.
    other_db.records.drop()
    assert db.records.count_documents({}) == 6
    assert "records" not in other_db.list_collection_names()
