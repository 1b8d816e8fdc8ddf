"""Gateway overhead benchmark: GraphQL over HTTP (gateway -> gRPC -> domain) against the
same read done directly with the domain layer, on an embedded platform with temp SQLite.

    .venv/bin/python -m bench.gateway.run [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from sqlalchemy import event

from tests.support.graphql import GraphQLClient, Person, join_org, new_org, new_person, new_project
from tests.support.platform import RunningPlatform, platform_settings, start_platform
from trawl.domain.access import resolve_actor
from trawl.domain.pagination import PageRequest
from trawl.domain.projects.service import ProjectsService
from trawl.graphql.relay import raw_id
from trawl.tenants.principal import Principal

PROJECTS = 20
MEMBERS = 5
WARMUP = 10
QUERY = (
    "query($id: ID!, $n: Int!) { organization(id: $id) { projects(first: $n) { nodes { id name "
    "members { nodes { role user { email } } } } } } }"
)


@dataclass
class Result:
    label: str
    n: int
    requests: int
    seconds: float
    latencies: list[float]
    grpc_calls: float | None
    sql_statements: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: object, **_kwargs: object) -> None:
        self.count += 1


async def seed(gql: GraphQLClient) -> tuple[Person, str]:
    owner = await new_person(gql, "owner")
    org_id = await new_org(gql, owner, "Bench Org")
    members = [await new_person(gql, "member") for _ in range(MEMBERS)]
    for person in members:
        await join_org(gql, owner, org_id, person, "MEMBER")
    for i in range(PROJECTS):
        project_id = await new_project(gql, owner, org_id, f"Project {i:02d}")
        for person in members:
            added = await gql.mutate(
                "addProjectMember",
                {"projectId": project_id, "userId": person.user_id, "role": "EDITOR"},
                "member { role }",
                token=owner.token,
            )
            assert added["errors"] == [], added
    return owner, org_id


async def measure(
    label: str,
    n: int,
    call: Callable[[], Awaitable[int | None]],
    *,
    requests: int,
    concurrency: int,
    counter: StatementCounter,
) -> Result:
    for _ in range(WARMUP):
        await call()
    latencies: list[float] = []
    grpc_calls: list[int] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            calls = await call()
            latencies.append(time.perf_counter() - start)
            if calls is not None:
                grpc_calls.append(calls)

    counter.count = 0
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return Result(
        label=label,
        n=n,
        requests=len(latencies),
        seconds=elapsed,
        latencies=latencies,
        grpc_calls=statistics.mean(grpc_calls) if grpc_calls else None,
        sql_statements=counter.count / len(latencies),
    )


def gateway_call(
    http: httpx.AsyncClient, running: RunningPlatform, token: str, org_id: str, n: int
) -> Callable[[], Awaitable[int | None]]:
    headers = {"authorization": f"Bearer {token}"}
    body = {"query": QUERY, "variables": {"id": org_id, "n": n}}

    async def call() -> int | None:
        response = await http.post(running.graphql_url, json=body, headers=headers)
        payload: dict[str, Any] = response.json()
        assert response.status_code == 200 and not payload.get("errors"), payload
        nodes = payload["data"]["organization"]["projects"]["nodes"]
        assert len(nodes) == n and all(node["members"]["nodes"] for node in nodes), payload
        return int(payload["extensions"]["trawl"]["grpcCalls"])

    return call


def baseline_call(
    running: RunningPlatform, principal: Principal, org_id: str, n: int
) -> Callable[[], Awaitable[int | None]]:
    db = running.platform.db
    assert db is not None
    member_page = PageRequest(limit=running.settings.page_size_default)

    async def call() -> int | None:
        async with db.transaction() as session:
            actor = await resolve_actor(session, principal)
            service = ProjectsService(session)
            projects = await service.list_projects(actor, org_id, PageRequest(limit=n))
            members = await service.members(actor, [p.id for p in projects.items], member_page)
            rows = [
                (p.id, p.name, [(m.role, u.email) for m, u in members[p.id].items])
                for p in projects.items
            ]
        assert len(rows) == n and all(r[2] for r in rows)
        return None

    return call


def print_table(results: list[Result]) -> None:
    header = (
        f"{'path':<10} {'n':>3} {'reqs':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'grpc/req':>9} {'sql/req':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        grpc = f"{r.grpc_calls:.1f}" if r.grpc_calls is not None else "-"
        print(
            f"{r.label:<10} {r.n:>3} {r.requests:>5} {r.rps:>9.1f} {r.percentile(50):>8.2f} "
            f"{r.percentile(99):>8.2f} {grpc:>9} {r.sql_statements:>8.1f}"
        )
    print()
    by_key = {(r.label, r.n): r for r in results}
    for n in sorted({r.n for r in results}):
        gw, base = by_key[("gateway", n)], by_key[("baseline", n)]
        print(
            f"n={n:<2} gateway/baseline: req/s x{gw.rps / base.rps:.2f}, "
            f"p50 x{gw.percentile(50) / base.percentile(50):.2f}, "
            f"p99 x{gw.percentile(99) / base.percentile(99):.2f}, "
            f"sql/req x{gw.sql_statements / base.sql_statements:.2f}"
        )


async def main(requests: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="trawl-bench-") as tmp:
        data_dir = Path(tmp)
        url = f"sqlite+aiosqlite:///{data_dir / 'trawl.db'}"
        running = await start_platform(platform_settings(data_dir, url), "sqlite")
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                gql = GraphQLClient(running, http)
                seed_start = time.perf_counter()
                owner, org_id = await seed(gql)
                print(
                    f"seeded 1 org, {PROJECTS} projects x {MEMBERS} members "
                    f"in {time.perf_counter() - seed_start:.1f}s; "
                    f"{requests} requests, concurrency {concurrency}\n"
                )
                db = running.platform.db
                assert db is not None
                counter = StatementCounter()
                event.listen(db.engine.sync_engine, "before_cursor_execute", counter)
                claims = jwt.decode(owner.token, options={"verify_signature": False})
                principal = Principal(subject=claims["sub"], email=owner.email)
                domain_org_id = raw_id(org_id, "Organization")
                results: list[Result] = []
                for n in (2, 20):
                    for label, call in (
                        ("gateway", gateway_call(http, running, owner.token, org_id, n)),
                        ("baseline", baseline_call(running, principal, domain_org_id, n)),
                    ):
                        results.append(
                            await measure(
                                label,
                                n,
                                call,
                                requests=requests,
                                concurrency=concurrency,
                                counter=counter,
                            )
                        )
                event.remove(db.engine.sync_engine, "before_cursor_execute", counter)
                print_table(results)
        finally:
            await running.platform.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency))


if __name__ == "__main__":
    cli()
