"""Kinesis throttling for tests: an HTTP proxy on loopback in front of the moto server.

moto never throttles, so on its own it cannot show what our forwarder does when AWS says
"slow down". This is a test harness reproducing AWS behaviour moto lacks, not a mock of our
code: every request goes to the real moto server, except that `PutRecords` is held to the
per-shard limits AWS documents (by default 1,000 records and 1 MiB a second per shard, the
shard picked as AWS does: the MD5 of the partition key within the shards' hash key ranges,
read from moto with ListShards). Only the accepted records are forwarded to moto; the others
come back as `ProvisionedThroughputExceededException` entries in one merged PutRecords answer,
with FailedRecordCount set, as AWS answers. Calls over the per-call limits (500 records, 5 MiB,
1 MiB a record) are refused with a 400 like AWS refuses them, and noted in `calls`.

Tests may also set `budget`: how many more records it accepts at all (then it throttles
everything), which makes "part of a chunk was acknowledged" happen on purpose."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.moto import free_port

PUT_RECORDS = "Kinesis_20131202.PutRecords"
LIST_SHARDS = "Kinesis_20131202.ListShards"
MAX_CALL_RECORDS = 500
MAX_CALL_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


@dataclass
class PutCall:
    records: int
    bytes: int
    accepted: int = 0
    throttled: int = 0
    violation: str | None = None


@dataclass
class _Window:
    second: int = -1
    records: int = 0
    bytes: int = 0


@dataclass
class _Shard:
    shard_id: str
    start: int
    end: int
    window: _Window = field(default_factory=_Window)


class KinesisThrottle:
    def __init__(
        self,
        upstream: str,
        *,
        records_per_second: int = 1000,
        bytes_per_second: int = 1024 * 1024,
    ) -> None:
        self.upstream = upstream
        self.records_per_second = records_per_second
        self.bytes_per_second = bytes_per_second
        self.budget: int | None = None
        self.calls: list[PutCall] = []
        self.port = free_port()
        self._shards: dict[str, list[_Shard]] = {}
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def throttled(self) -> int:
        return sum(call.throttled for call in self.calls)

    def start(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Kinesis throttle proxy did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    async def _forward(self, request: Request, body: bytes, target: str | None = None) -> Any:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.upstream, timeout=30)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        if target is not None:
            headers["x-amz-target"] = target
        return await self._client.request(
            request.method, request.url.path, params=request.query_params, headers=headers,
            content=body,
        )  # fmt: skip

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        if request.headers.get("x-amz-target") == PUT_RECORDS:
            return await self._put_records(request, json.loads(body))
        reply = await self._forward(request, body)
        headers = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP_HEADERS}
        return Response(reply.content, status_code=reply.status_code, headers=headers)

    async def _shards_of(self, request: Request, stream: dict[str, str]) -> list[_Shard]:
        key = json.dumps(stream, sort_keys=True)
        if key not in self._shards:
            reply = await self._forward(request, json.dumps(stream).encode(), LIST_SHARDS)
            reply.raise_for_status()
            self._shards[key] = [
                _Shard(
                    s["ShardId"],
                    int(s["HashKeyRange"]["StartingHashKey"]),
                    int(s["HashKeyRange"]["EndingHashKey"]),
                )
                for s in reply.json()["Shards"]
            ]
        return self._shards[key]

    async def _put_records(self, request: Request, payload: dict[str, Any]) -> Response:
        stream = {k: payload[k] for k in ("StreamName", "StreamARN") if k in payload}
        records: list[dict[str, Any]] = payload["Records"]
        sizes = [
            len(base64.b64decode(r["Data"])) + len(r["PartitionKey"].encode()) for r in records
        ]
        call = PutCall(records=len(records), bytes=sum(sizes))
        self.calls.append(call)
        call.violation = _violation(sizes)
        if call.violation is not None:
            return _error(400, "ValidationException", call.violation)
        shards = await self._shards_of(request, stream)
        accepted = self._admit(records, sizes, shards)
        call.accepted, call.throttled = len(accepted), len(records) - len(accepted)
        results: dict[int, dict[str, Any]] = {}
        if accepted:
            forwarded = {**payload, "Records": [records[i] for i in accepted]}
            reply = await self._forward(request, json.dumps(forwarded).encode())
            if reply.status_code != 200:
                return Response(reply.content, status_code=reply.status_code)
            results = dict(zip(accepted, reply.json()["Records"], strict=True))
        merged = [results.get(i) or _throttled(stream) for i in range(len(records))]
        failed = sum(1 for r in merged if "ErrorCode" in r)
        body = {"FailedRecordCount": failed, "Records": merged}
        return Response(json.dumps(body), media_type="application/x-amz-json-1.1")

    def _admit(
        self, records: list[dict[str, Any]], sizes: list[int], shards: list[_Shard]
    ) -> list[int]:
        """Indexes of the records the shards' limits (and the budget) let through now."""
        second = int(time.monotonic())
        accepted: list[int] = []
        with self._lock:
            for index, (record, size) in enumerate(zip(records, sizes, strict=True)):
                shard = _shard_for(record, shards)
                window = shard.window
                if window.second != second:
                    window.second, window.records, window.bytes = second, 0, 0
                over = (
                    window.records + 1 > self.records_per_second
                    or window.bytes + size > self.bytes_per_second
                    or (self.budget is not None and self.budget <= 0)
                )
                if over:
                    continue
                window.records += 1
                window.bytes += size
                if self.budget is not None:
                    self.budget -= 1
                accepted.append(index)
        return accepted


def _shard_for(record: dict[str, Any], shards: list[_Shard]) -> _Shard:
    explicit = record.get("ExplicitHashKey")
    digest = hashlib.md5(record["PartitionKey"].encode(), usedforsecurity=False).hexdigest()
    point = int(explicit) if explicit else int(digest, 16)
    for shard in shards:
        if shard.start <= point <= shard.end:
            return shard
    raise AssertionError(f"no shard covers hash key {point}")


def _violation(sizes: list[int]) -> str | None:
    if len(sizes) > MAX_CALL_RECORDS:
        return f"{len(sizes)} records in one call; at most {MAX_CALL_RECORDS}"
    if sum(sizes) > MAX_CALL_BYTES:
        return f"{sum(sizes)} bytes in one call; at most {MAX_CALL_BYTES}"
    if sizes and max(sizes) > MAX_RECORD_BYTES:
        return f"a record of {max(sizes)} bytes; at most {MAX_RECORD_BYTES}"
    return None


def _throttled(stream: dict[str, str]) -> dict[str, str]:
    name = stream.get("StreamName") or stream.get("StreamARN", "")
    return {
        "ErrorCode": "ProvisionedThroughputExceededException",
        "ErrorMessage": f"Rate exceeded for shard in stream {name} under account 123456789012.",
    }


def _error(status: int, kind: str, message: str) -> Response:
    body = json.dumps({"__type": kind, "message": message})
    return Response(body, status_code=status, media_type="application/x-amz-json-1.1")
