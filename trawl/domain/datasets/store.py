"""Reads of the `records` collection the stream's MongoDB sink writes. pymongo is blocking,
so each read runs in a worker thread; one client per store (per servicer), created on first
use. Every query is built here around the organization and run of a verified scope."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from trawl.config import Settings
from trawl.domain.datasets.cursor import RecordKey
from trawl.domain.errors import Unavailable
from trawl.stream.sinks.mongo import RECORDS

log = logging.getLogger(__name__)

Doc = dict[str, Any]
# The stable order; served by the (organization_id, run_id, attempt, sequence, record_id)
# index of the sink.
ORDER = [("attempt", ASCENDING), ("sequence", ASCENDING), ("record_id", ASCENDING)]
QUERY_TIMEOUT_MS = 10_000


@dataclass(frozen=True, slots=True)
class RecordsQuery:
    organization_id: str  # from the caller's verified access to the run, never the request
    run_id: str
    clauses: list[Doc]
    projection: Doc | None
    after: RecordKey | None
    limit: int


@dataclass(frozen=True, slots=True)
class StoredPage:
    docs: list[Doc]
    has_next: bool
    total: int


def _selector(query: RecordsQuery, *, resume: bool) -> Doc:
    selector: Doc = {"organization_id": query.organization_id, "run_id": query.run_id}
    clauses = list(query.clauses)
    if resume and query.after is not None:
        clauses.append(query.after.after_clause())
    if clauses:
        selector["$and"] = clauses
    return selector


class RecordStore:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.mongo_url
        self.database = settings.mongo_database
        self._client: MongoClient[Doc] | None = None
        self._lock = threading.Lock()

    def _records(self) -> Collection[Doc]:
        with self._lock:
            if self._client is None:
                self._client = MongoClient(
                    self.url,
                    serverSelectionTimeoutMS=5_000,
                    connectTimeoutMS=5_000,
                    socketTimeoutMS=QUERY_TIMEOUT_MS + 5_000,
                )
            return self._client[self.database][RECORDS]

    async def page(self, query: RecordsQuery) -> StoredPage:
        try:
            return await asyncio.to_thread(self._page, query)
        except PyMongoError as error:
            log.warning(
                "records_read=failed org=%s run=%s error=%r",
                query.organization_id,
                query.run_id,
                error,
            )
            raise Unavailable(
                f"the dataset cannot be read right now ({type(error).__name__}); try again"
            ) from None

    def _page(self, query: RecordsQuery) -> StoredPage:
        records = self._records()
        cursor = records.find(
            _selector(query, resume=True),
            query.projection,
            sort=ORDER,
            limit=query.limit + 1,
            max_time_ms=QUERY_TIMEOUT_MS,
        )
        docs = list(cursor)
        total = records.count_documents(_selector(query, resume=False), maxTimeMS=QUERY_TIMEOUT_MS)
        return StoredPage(docs=docs[: query.limit], has_next=len(docs) > query.limit, total=total)

    def iter_run(self, organization_id: str, run_id: str, batch_size: int = 1000) -> Iterator[Doc]:
        """Every record of a run in the stable order, fetched in batches (blocking; for
        exports, which must not hold a run's records in memory)."""
        yield from self._records().find(
            {"organization_id": organization_id, "run_id": run_id},
            sort=ORDER,
            batch_size=batch_size,
        )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
