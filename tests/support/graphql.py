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


def staff_token(gql: GraphQLClient) -> str:
    """A token of platform staff (the `trawl:staff` permission), in no organization."""
    email = f"staff-{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"
    return gql.platform.token(email, permissions=["trawl:staff"])


async def add_to_project(
    gql: GraphQLClient, manager: Person, project_id: str, person: Person, role: str
) -> None:
    payload = await gql.mutate(
        "addProjectMember",
        {"projectId": project_id, "userId": person.user_id, "role": role},
        "member { role }",
        token=manager.token,
    )
    assert payload["errors"] == [], payload


async def new_report(
    gql: GraphQLClient, person: Person, project_id: str, **fields: Any
) -> dict[str, Any]:
    """A demo.echo report (fields override the input); returns `{id name}`."""
    input = {
        "projectId": project_id,
        "name": f"Report {uuid.uuid4().hex[:8]}",
        "serviceCode": "demo.echo",
        "parameters": {"count": 3},
        **fields,
    }
    payload = await gql.mutate("createReport", input, "report { id name }", token=person.token)
    assert payload["errors"] == [], payload
    report: dict[str, Any] = payload["report"]
    return report


async def trigger_run(gql: GraphQLClient, person: Person, report_id: str) -> str:
    payload = await gql.mutate(
        "triggerRun", {"reportId": report_id}, "run { id }", token=person.token
    )
    assert payload["errors"] == [], payload
    run_id: str = payload["run"]["id"]
    return run_id


async def new_owner_with_project(gql: GraphQLClient) -> tuple[Person, str, str]:
    """A new user owning a new organization with one project: (owner, org id, project id)."""
    owner = await new_person(gql, "owner")
    org_id = await new_org(gql, owner)
    return owner, org_id, await new_project(gql, owner, org_id)
