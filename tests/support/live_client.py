"""A small graphql-transport-ws client over a real WebSocket (the `websockets` package), as a
browser or a partner integration would talk to the gateway's subscriptions."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"


class SubscriptionError(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e.get("message")) for e in errors))
        self.errors = errors


@dataclass
class LiveConnection:
    socket: ClientConnection
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _queues: dict[str, asyncio.Queue[dict[str, Any]]] = field(default_factory=dict)
    _reader: asyncio.Task[None] | None = None
    close_code: int | None = None
    close_reason: str = ""
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self) -> None:
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await self.socket.send(json.dumps({"type": "pong"}))
                elif kind in ("next", "error", "complete") and message.get("id") in self._queues:
                    await self._queues[message["id"]].put(message)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.socket.close_code
            self.close_reason = self.socket.close_reason or ""
            self.closed.set()
            for queue in self._queues.values():
                await queue.put({"type": "closed"})

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> Subscription:
        op_id = str(next(self._ids))
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues[op_id] = queue
        await self.socket.send(
            json.dumps(
                {
                    "id": op_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        return Subscription(self, op_id, queue)

    async def close(self) -> None:
        await self.socket.close()
        if self._reader is not None:
            await self._reader


@dataclass
class Subscription:
    connection: LiveConnection
    id: str
    queue: asyncio.Queue[dict[str, Any]]
    done: bool = False

    async def next(self, timeout: float = 30.0) -> dict[str, Any] | None:  # noqa: ASYNC109
        """The next result's data; None when the subscription completed or the socket
        closed; raises SubscriptionError on an error message or a result with errors."""
        if self.done:
            return None
        message = await asyncio.wait_for(self.queue.get(), timeout)
        if message["type"] in ("complete", "closed"):
            self.done = True
            return None
        if message["type"] == "error":
            self.done = True
            raise SubscriptionError(message["payload"])
        payload = message["payload"]
        if payload.get("errors"):
            raise SubscriptionError(payload["errors"])
        data: dict[str, Any] = payload["data"]
        return data

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while (item := await self.next()) is not None:
            yield item

    async def complete(self) -> None:
        self.done = True
        await self.connection.socket.send(json.dumps({"id": self.id, "type": "complete"}))


async def open_live(url: str, token: str | None, *, payload: Any = None) -> LiveConnection:
    """Connects and sends connection_init with the token; returns once acknowledged, or
    with `close_code` set when the server closed the socket instead."""
    socket = await connect(url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    init: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        init["payload"] = payload
    elif token is not None:
        init["payload"] = {"authorization": f"Bearer {token}"}
    await socket.send(json.dumps(init))
    connection = LiveConnection(socket)
    try:
        reply = json.loads(await asyncio.wait_for(socket.recv(), 10))
    except ConnectionClosed:
        connection.close_code = socket.close_code
        connection.close_reason = socket.close_reason or ""
        connection.closed.set()
        return connection
    if reply.get("type") != "connection_ack":
        raise AssertionError(f"expected connection_ack, got {reply}")
    connection.start()
    return connection


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1)
