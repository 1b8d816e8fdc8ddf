"""A GraphQL client over real HTTP, and small factories for the objects tests need."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.platform import RunningPlatform

_counter = itertools.count(1)


class GraphQLResult:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body

    @property
    def data(self) -> dict[str, Any]:
        assert not self.body.get("errors"), self.body["errors"]
        data: dict[str, Any] = self.body["data"]
        return data

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def error_codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code", "") for e in self.errors]

    @property
    def grpc_calls(self) -> int:
        return int(self.body["extensions"]["trawl"]["grpcCalls"])


class GraphQLClient:
    def __init__(self, platform: RunningPlatform, http: httpx.AsyncClient) -> None:
        self.platform = platform
        self.http = http

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None
    ) -> GraphQLResult:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            self.platform.graphql_url,
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )
        return GraphQLResult(response.status_code, response.json())

    async def mutate(
        self, name: str, input: dict[str, Any], selection: str, *, token: str
    ) -> dict[str, Any]:
        """Run `name(input:)`; returns the payload, asserting no top-level errors."""
        query = (
            f"mutation($input: {name[0].upper()}{name[1:]}Input!) "
            f"{{ {name}(input: $input) {{ {selection} errors {{ field message code }} }} }}"
        )
        result = await self.execute(query, {"input": input}, token=token)
        payload: dict[str, Any] = result.data[name]
        return payload


@dataclass
class Person:
    email: str
    token: str
    user_id: str = ""  # global id, known after their first call


async def new_person(gql: GraphQLClient, label: str = "user") -> Person:
    email = f"{label}-{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"
    person = Person(email=email, token=gql.platform.token(email))
    viewer = await gql.execute("{ viewer { user { id } } }", token=person.token)
    person.user_id = viewer.data["viewer"]["user"]["id"]
    return person


async def new_org(gql: GraphQLClient, owner: Person, name: str | None = None) -> str:
    payload = await gql.mutate(
        "createOrganization",
        {"name": name or f"Org {uuid.uuid4().hex[:8]}"},
        "organization { id }",
        token=owner.token,
    )
    assert payload["errors"] == [], payload
    org_id: str = payload["organization"]["id"]
    return org_id


async def join_org(
    gql: GraphQLClient, admin: Person, org_id: str, person: Person, role: str
) -> None:
    invited = await gql.mutate(
        "inviteMember",
        {"organizationId": org_id, "email": person.email, "role": role},
        "invitationToken",
        token=admin.token,
    )
    assert invited["errors"] == [], invited
    accepted = await gql.mutate(
        "acceptInvitation",
        {"token": invited["invitationToken"]},
        "member { role }",
        token=person.token,
    )
    assert accepted["errors"] == [], accepted


async def new_project(
    gql: GraphQLClient, person: Person, org_id: str, name: str | None = None
) -> str:
    payload = await gql.mutate(
        "createProject",
        {"organizationId": org_id, "name": name or f"Project {uuid.uuid4().hex[:8]}"},
        "project { id }",
        token=person.token,
    )
    assert payload["errors"] == [], payload
    project_id: str = payload["project"]["id"]
    return project_id
