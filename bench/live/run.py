"""Live run status (issue 6): latency from a stats publish to its receipt by 200 GraphQL
subscribers over two `trawl gateway` processes, and the gateways' CPU, beside the bare
publish -> Redis -> subscriber path without GraphQL, in the same run.

- graphql: `ReportStreamStats` (the stream job's system call) on each run at --rate per
  second; the reports service stores the totals and publishes the Run on Redis; two gateway
  processes fan it out to `runUpdated(runId) { stats { accepted } }` subscriptions over
  graphql-transport-ws. The clients run in one process per gateway. A raw Redis subscriber
  on the same channels (the tap) shows how much of the latency is the service's part.
- bare: the same message PUBLISHed straight to Redis at the same rate, received by as many
  redis.asyncio pub/sub connections in two processes, decoded as a gateway decodes it.

Latency is per (subscriber, value): from the start of the publish call to the subscriber's
receipt of that `accepted` value. State conflates for a slow GraphQL client (it gets the
newest value, not a backlog), so the share of values each subscriber saw is shown too.

    .venv/bin/python -m bench.live [--seconds 20] [--rate 10] [--warmup 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.live.measure import bunched, call_ms, cpu_snapshot, delivery, past_redis
from bench.live.publishers import (
    Publish,
    bare_channel,
    bare_publisher,
    publish_all,
    stats_publisher,
)
from bench.live.report import BUNCHED_MS, Phase, compare, report
from bench.live.rig import Rig, open_rig
from bench.live.subscriber_processes import collect, subscribed
from trawl.live.channels import run_channel

GATEWAYS = 2
RUNS = 4
USERS = 20  # half on each gateway
CONNECTIONS_PER_USER = 5  # within live_max_connections_per_user (10)
SUBSCRIPTIONS_PER_CONNECTION = 2  # within live_max_subscriptions_per_connection (20)
SUBSCRIBERS = USERS * CONNECTIONS_PER_USER * SUBSCRIPTIONS_PER_CONNECTION
DRAIN_SECONDS = 2.0  # after the last publish, before the subscribers stop
TAP = "tap"
BARE_TITLE = (
    f"bare: the service's message PUBLISHed as JSON -> Redis -> redis.asyncio pub/sub, "
    f"{GATEWAYS} processes x {SUBSCRIBERS // GATEWAYS} connections"
)
GRAPHQL_TITLE = (
    f"graphql: ReportStreamStats -> reports service (SQLite) -> Redis -> {GATEWAYS} trawl "
    f"gateways -> graphql-transport-ws; {USERS} users x {CONNECTIONS_PER_USER} connections x "
    f"{SUBSCRIPTIONS_PER_CONNECTION} runUpdated, clients in one process per gateway"
)


def graphql_specs(rig: Rig) -> dict[str, dict[str, Any]]:
    """Per gateway, its users' connections; subscription s of a gateway watches run s % RUNS."""
    specs: dict[str, dict[str, Any]] = {}
    for g, gateway in enumerate(rig.gateways):
        connections: list[dict[str, Any]] = []
        s = 0
        for token in rig.tokens[g :: len(rig.gateways)]:
            for _ in range(CONNECTIONS_PER_USER):
                runs = [
                    rig.runs[(s + i) % len(rig.runs)] for i in range(SUBSCRIPTIONS_PER_CONNECTION)
                ]
                s += SUBSCRIPTIONS_PER_CONNECTION
                connections.append({"token": token, "runs": [[r.global_id, r.raw] for r in runs]})
        specs[f"clients-{g}"] = {
            "mode": "graphql",
            "url": gateway.ws_url,
            "connections": connections,
        }
    specs[TAP] = {
        "mode": "redis",
        "url": rig.settings.redis_url,
        "channels": [[run_channel(r.raw), r.raw] for r in rig.runs],
    }
    return specs


def bare_specs(rig: Rig) -> dict[str, dict[str, Any]]:
    """As many subscribers as the GraphQL side, split the same way over two processes."""
    per_process = SUBSCRIBERS // GATEWAYS
    runs = [rig.runs[s % len(rig.runs)] for s in range(per_process)]
    channels = [[bare_channel(r.raw), r.raw] for r in runs]
    return {
        f"bare-{g}": {"mode": "redis", "url": rig.settings.redis_url, "channels": channels}
        for g in range(GATEWAYS)
    }


async def measure(
    rig: Rig,
    specs: dict[str, dict[str, Any]],
    publishers: dict[str, Publish],
    values: range,
    args: argparse.Namespace,
    root: Path,
) -> Phase:
    first = values.start + round(args.warmup * args.rate)  # values before it: the warm-up
    async with subscribed(specs, root) as processes:
        pids = {f"gateway-{g}": gw.process.pid for g, gw in enumerate(rig.gateways)}
        pids |= {p.label: p.pid for p in processes}
        pids |= {"redis": rig.redis_pid, "bench (services, publishers)": os.getpid()}
        start = time.monotonic() + 0.2
        publishing = asyncio.create_task(
            asyncio.to_thread(publish_all, publishers, values, args.rate, start)
        )
        await asyncio.sleep(start + args.warmup - time.monotonic())
        before, began = cpu_snapshot(pids.values()), time.monotonic()
        sent = await publishing
        after, ended = cpu_snapshot(pids.values()), time.monotonic()
        await asyncio.sleep(DRAIN_SECONDS)
        received, errors = await collect(processes)
    window = ended - began
    cpu = {label: (after[pid] - before[pid]) / window * 100 for label, pid in pids.items()}
    clients = [r for label, got in received.items() if label != TAP for r in got]
    result = Phase(delivery(clients, sent, first), None, None, math.nan, call_ms(sent), cpu, errors)
    if TAP in received:
        result.tap = delivery(received[TAP], sent, first)
        result.past_redis = past_redis(clients, received[TAP], first)
        result.bunched = bunched(received[TAP], first, BUNCHED_MS)
    return result


def sides(rig: Rig) -> dict[str, tuple[dict[str, dict[str, Any]], dict[str, Publish]]]:
    client = rig.bare_client
    bare = {r.raw: bare_publisher(client, rig.templates[r.raw]) for r in rig.runs}
    stats = {r.raw: stats_publisher(rig.services, r.raw, r.organization) for r in rig.runs}
    return {"bare": (bare_specs(rig), bare), "graphql": (graphql_specs(rig), stats)}


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    count = round((args.warmup + args.seconds) * args.rate)
    with tempfile.TemporaryDirectory(prefix="trawl-bench-live-") as tmp:
        root = Path(tmp)
        async with open_rig(root, RUNS, USERS, GATEWAYS) as rig:
            print(
                f"live: {SUBSCRIBERS} subscribers, {RUNS} runs x {SUBSCRIBERS // RUNS}; "
                f"{args.rate:g} publishes/s per run for {args.seconds:g} s after {args.warmup:g} s "
                f"of warm-up (not counted), {args.rounds} rounds alternating which side goes "
                f"first; {os.cpu_count()} CPUs, load average {load()}, all on this host",
                flush=True,
            )
            passes = sides(rig)
            phases: dict[str, list[Phase]] = {side: [] for side in passes}
            done = 0  # values published so far: each pass goes on from there
            for round_ in range(args.rounds):
                for side in list(passes)[:: -1 if round_ % 2 else 1]:
                    specs, publishers = passes[side]
                    values = range(done + 1, done + count + 1)
                    phases[side].append(await measure(rig, specs, publishers, values, args, root))
                    done += count
            values = round(args.seconds * args.rate)
            base = report(BARE_TITLE, phases["bare"], args.seconds, values)
            live = report(GRAPHQL_TITLE, phases["graphql"], args.seconds, values)
            compare(live, base)
    print(f"took {time.perf_counter() - started:.0f} s; load average now {load()}")


def load() -> str:
    with open("/proc/loadavg") as file:
        return " ".join(file.read().split()[:3])


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured publishing time")
    parser.add_argument("--rate", type=float, default=10.0, help="publishes per second per run")
    parser.add_argument("--rounds", type=int, default=2, help="passes of each side")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds published first, not counted"
    )
    args = parser.parse_args()
    # SIGTERM as Ctrl-C: the way out stops every process the bench started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
