"""A subscriber process of the live bench: many subscribers in one event loop, each noting
when it received which `accepted` value.

    python -m bench.live.subscribers SPEC.json

SPEC is one of
- `{"mode": "graphql", "url": ws url, "connections": [{"token": jwt, "runs": [[global id,
  key], ...]}, ...]}`: one graphql-transport-ws connection per entry, as a browser opens
  it, and one `runUpdated` subscription per run on it;
- `{"mode": "redis", "url": redis url, "channels": [[channel, key], ...]}`: one redis.asyncio
  pub/sub connection per entry, reading and decoding the message as a gateway's reader does.

With the parent: `ready` on stdout once every subscription is live (graphql: its first
value, the current state, has arrived; redis: Redis confirmed the SUBSCRIBE); then, on a
line `stop` on stdin, one JSON line `{"received": [[key, [[accepted, t], ...]], ...],
"errors": [...]}`, and exit. Times are `time.monotonic()`: CLOCK_MONOTONIC, which every
process on the host shares, so they compare with the publisher's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from trawl.live.run_updates import decode_run

PROTOCOL = Subprotocol("graphql-transport-ws")
RUN_UPDATED = "subscription($id: ID!) { runUpdated(runId: $id) { stats { accepted } } }"
READY_TIMEOUT = 120.0


@dataclass
class Subscriber:
    key: str  # the raw run id, which the publisher's times are keyed by
    seen: list[tuple[int, float]] = field(default_factory=list)
    live: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Fleet:
    subscribers: list[Subscriber] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    sockets: list[ClientConnection] = field(default_factory=list)

    def fail(self, text: str) -> None:
        self.errors.append(text)
        for subscriber in self.subscribers:
            subscriber.live.set()  # nobody waits for a subscription that will not come


async def open_graphql(fleet: Fleet, url: str, token: str, runs: list[list[str]]) -> None:
    socket = await connect(url, subprotocols=[PROTOCOL], open_timeout=60)
    fleet.sockets.append(socket)
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    await socket.send(json.dumps(init))
    ack = json.loads(await asyncio.wait_for(socket.recv(), 60))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"expected connection_ack, got {ack}")
    mine = [Subscriber(key) for _, key in runs]
    fleet.subscribers.extend(mine)
    for index, (run_id, _) in enumerate(runs):
        payload = {"query": RUN_UPDATED, "variables": {"id": run_id}}
        await socket.send(json.dumps({"id": str(index), "type": "subscribe", "payload": payload}))
    fleet.tasks.append(asyncio.create_task(read_graphql(fleet, socket, mine)))


async def read_graphql(fleet: Fleet, socket: ClientConnection, mine: list[Subscriber]) -> None:
    try:
        async for raw in socket:
            received_at = time.monotonic()
            message: dict[str, Any] = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                await socket.send(json.dumps({"type": "pong"}))
            elif kind == "next" and not message["payload"].get("errors"):
                subscriber = mine[int(message["id"])]
                stats = message["payload"]["data"]["runUpdated"]["stats"]
                subscriber.seen.append((int(stats["accepted"]), received_at))
                subscriber.live.set()
            elif kind in ("next", "error", "complete"):
                fleet.fail(f"subscription {message.get('id')}: {kind} {message.get('payload')}")
    except ConnectionClosed:
        pass
    fleet.fail(f"connection closed: {socket.close_code} {socket.close_reason}")


async def open_redis(fleet: Fleet, url: str, channel: str, key: str) -> None:
    client: redis.asyncio.Redis = redis.asyncio.Redis.from_url(url, decode_responses=True)
    pubsub = client.pubsub()
    subscriber = Subscriber(key)
    fleet.subscribers.append(subscriber)
    await pubsub.subscribe(channel)
    fleet.tasks.append(asyncio.create_task(read_redis(fleet, pubsub, subscriber)))


async def read_redis(fleet: Fleet, pubsub: Any, subscriber: Subscriber) -> None:
    async for message in pubsub.listen():
        received_at = time.monotonic()
        if message["type"] == "subscribe":
            subscriber.live.set()
            continue
        if message["type"] != "message":
            continue
        run = decode_run(json.loads(message["data"]))
        if run is None:
            fleet.fail(f"undecodable message on {message['channel']}")
            continue
        subscriber.seen.append((run.stream.accepted, received_at))


async def open_all(spec: dict[str, Any]) -> Fleet:
    fleet = Fleet()
    if spec["mode"] == "graphql":
        opening = [
            open_graphql(fleet, spec["url"], c["token"], c["runs"]) for c in spec["connections"]
        ]
    else:
        opening = [open_redis(fleet, spec["url"], ch, key) for ch, key in spec["channels"]]
    await asyncio.gather(*opening)
    waits = (s.live.wait() for s in fleet.subscribers)
    await asyncio.wait_for(asyncio.gather(*waits), READY_TIMEOUT)
    return fleet


async def main(spec: dict[str, Any]) -> None:
    fleet = await open_all(spec)
    if fleet.errors:
        raise SystemExit("subscribing failed: " + "; ".join(fleet.errors[:5]))
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # "stop", or EOF when the parent died
    received = [[s.key, s.seen] for s in fleet.subscribers]
    print(json.dumps({"received": received, "errors": fleet.errors[:20]}), flush=True)
    for task in fleet.tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.gather(*(s.close() for s in fleet.sockets)), 5)


if __name__ == "__main__":
    with open(sys.argv[1]) as file:
        asyncio.run(main(json.load(file)))
