"""RunProcessor's stats timer against a local reports service (an in-process gRPC server) and
a token issuer (httpx.MockTransport): the MongoDB buffer is flushed before the totals go out,
and no answer of the service fails the job: an unknown run's stats are dropped, any other
error is retried at the next tick."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from trawl.config import Settings
from trawl.crawlers.forwarder.records import end_marker
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.grpc_services.gen.reports.v1 import reports_pb2_grpc
from trawl.stream.run_book import RunBook
from trawl.stream.run_processor import RunProcessor
from trawl.stream.services import StreamServices

RUN_ID = "run-1"
ORG_ID = "org-1"


class RunsService(reports_pb2_grpc.RunsServiceServicer):  # type: ignore[misc]
    """Answers ReportStreamStats with the next queued status code (none left: OK)."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.codes: list[grpc.StatusCode] = []
        self.requests: list[pb.ReportStreamStatsRequest] = []

    def ReportStreamStats(
        self, request: pb.ReportStreamStatsRequest, context: grpc.ServicerContext
    ) -> pb.Run:
        self.requests.append(request)
        self.events.append("report")
        if self.codes:
            code = self.codes.pop(0)
            context.abort(code, f"refused with {code.name}")
        return pb.Run()


@dataclass
class RecordingSink:
    """Stands in for MongoDB: notes each write in the shared event list."""

    events: list[str]
    written: list[dict[str, Any]] = field(default_factory=list)

    dead_letters: list[str] = field(default_factory=list)

    def write(self, batch: list[dict[str, Any]]) -> None:
        self.events.append("write")
        self.written.extend(batch)

    def dead_letter(self, raw: str, reason: str) -> None:
        self.dead_letters.append(reason)


class BookState:
    """A keyed ValueState holding the current run's book."""

    def __init__(self, book: RunBook | None) -> None:
        self.book = book

    def value(self) -> RunBook | None:
        return self.book

    def update(self, book: RunBook) -> None:
        self.book = book


class Timers:
    def __init__(self) -> None:
        self.registered: list[int] = []

    def current_processing_time(self) -> int:
        return 10_000

    def register_processing_time_timer(self, timestamp: int) -> None:
        self.registered.append(timestamp)


class Context:
    def __init__(self) -> None:
        self.timers = Timers()

    def get_current_key(self) -> str:
        return RUN_ID

    def timer_service(self) -> Timers:
        return self.timers


@dataclass
class Rig:
    processor: RunProcessor
    service: RunsService
    sink: RecordingSink
    events: list[str]
    token_status: list[int]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    events: list[str] = []
    service = RunsService(events)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    reports_pb2_grpc.add_RunsServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    token_status = [200]

    def issue(request: httpx.Request) -> httpx.Response:
        if token_status[0] != 200:
            return httpx.Response(token_status[0], text="client is not allowed")
        return httpx.Response(200, json={"access_token": "system-token", "expires_in": 3600})

    settings = Settings(data_dir=tmp_path, reports_address=f"127.0.0.1:{port}")
    services = StreamServices(
        settings, deadline_seconds=5.0, http=httpx.Client(transport=httpx.MockTransport(issue))
    )
    # What open() sets up, with the reports service and MongoDB replaced as above.
    processor = RunProcessor(settings)
    processor._services = services
    processor._lock = threading.Lock()
    processor._to_store = []
    sink = RecordingSink(events)
    processor._mongo = sink
    try:
        yield Rig(processor, service, sink, events, token_status)
    finally:
        services.close()
        server.stop(grace=None)


def dirty_book(*, complete_attempt: int = 0) -> RunBook:
    book = RunBook(organization_id=ORG_ID, run_id=RUN_ID)
    book.count(accepted=2, stored_bytes=40)
    book.complete_attempt = complete_attempt
    return book


def tick(rig: Rig, book: RunBook) -> tuple[BookState, Context]:
    state, ctx = BookState(book), Context()
    rig.processor._book = state
    assert list(rig.processor.on_timer(0, ctx)) == []
    return state, ctx


def test_buffered_records_reach_mongodb_before_the_complete_attempt_is_reported(
    rig: Rig,
) -> None:
    rig.processor._to_store = [{"record_id": "a"}, {"record_id": "b"}]
    state, ctx = tick(rig, dirty_book(complete_attempt=1))
    assert rig.events == ["write", "report"]
    assert [r["record_id"] for r in rig.sink.written] == ["a", "b"]
    (request,) = rig.service.requests
    assert (request.run_id, request.organization_id) == (RUN_ID, ORG_ID)
    assert (request.stats.accepted, request.stats.complete_attempt) == (2, 1)
    assert state.book is not None and not state.book.dirty
    assert ctx.timers.registered == []  # nothing left to report


def test_stats_of_a_run_the_service_no_longer_knows_are_dropped(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.service.codes = [grpc.StatusCode.NOT_FOUND]
    state, ctx = tick(rig, dirty_book(complete_attempt=1))
    assert len(rig.service.requests) == 1
    assert state.book is not None and not state.book.dirty
    assert ctx.timers.registered == []  # not retried
    assert "unknown to the reports service" in caplog.text


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE],
)
def test_other_refusals_are_retried_at_the_next_tick(rig: Rig, code: grpc.StatusCode) -> None:
    rig.service.codes = [code]
    book = dirty_book()
    state, ctx = tick(rig, book)
    assert state.book is not None and state.book.dirty
    assert ctx.timers.registered == [10_000 // 1000 * 1000 + 1000]  # the next tick
    state, ctx = tick(rig, book)
    assert len(rig.service.requests) == 2
    assert state.book is not None and not state.book.dirty
    assert ctx.timers.registered == []


def test_a_refused_token_request_is_retried_at_the_next_tick(rig: Rig) -> None:
    rig.token_status[0] = 403
    book = dirty_book()
    state, ctx = tick(rig, book)
    assert rig.service.requests == []
    assert state.book is not None and state.book.dirty
    assert len(ctx.timers.registered) == 1
    rig.token_status[0] = 200
    state, _ = tick(rig, book)
    assert len(rig.service.requests) == 1 and not book.dirty


def test_a_clean_book_is_neither_flushed_nor_reported(rig: Rig) -> None:
    book = dirty_book()
    book.dirty = False
    _, ctx = tick(rig, book)
    assert rig.events == [] and ctx.timers.registered == []


class HeldRecords(dict[str, str]):
    """A keyed MapState of held records (get / put / remove)."""

    def put(self, key: str, value: str) -> None:
        self[key] = value

    def remove(self, key: str) -> None:
        del self[key]


def test_malformed_records_still_count_toward_their_attempts_end(rig: Rig) -> None:
    """The end marker counts every record the forwarder shipped, malformed ones too: they are
    placed (when their attempt and sequence can be read) so the attempt completes, and a
    redelivered one is a duplicate, not a second rejection."""
    rig.processor._held = HeldRecords()
    state, ctx = BookState(None), Context()
    rig.processor._book = state

    def deliver(message: dict[str, Any]) -> None:
        assert list(rig.processor.process_element((RUN_ID, json.dumps(message)), ctx)) == []

    no_record_id = {"run_id": RUN_ID, "attempt": 1, "payload": {}}
    deliver({**no_record_id, "sequence": 1})
    deliver({**no_record_id, "sequence": 2})
    deliver({**no_record_id, "sequence": 1})  # Kinesis delivered it twice
    deliver(end_marker({"run_id": RUN_ID, "attempt": 1, "organization_id": ORG_ID}, 2))
    book = state.book
    assert book is not None
    assert (book.rejected, book.duplicates, book.accepted) == (2, 1, 0)
    assert book.complete_attempt == 1
    assert len(rig.sink.dead_letters) == 2
