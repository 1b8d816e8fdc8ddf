"""The embedded demo: `trawl up` serves the fixture shop and, through the public GraphQL API
as a demo user, creates an organization, a project and a `generic.html` report on the shop
and triggers one run, so a newcomer sees a run produce data within a minute.

Idempotent: an existing "Demo" organization of the demo user is reused as it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from trawl.config import Settings
from trawl.demo.report_fields import catalog_parameters
from trawl.tenants.issuer import LocalIssuer

DEMO_EMAIL = "demo@trawl.local"
DEMO_ORG = "Demo"


@dataclass(frozen=True)
class DemoSeed:
    organization_id: str
    report_id: str
    run_id: str | None


class _Api:
    def __init__(self, http: httpx.AsyncClient, url: str, token: str) -> None:
        self.http, self.url, self.token = http, url, token

    async def call(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {self.token}"},
        )
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"demo seeding failed: {body['errors'][0]['message']}")
        data: dict[str, Any] = body["data"]
        return data

    async def mutate(self, name: str, input: dict[str, Any], selection: str) -> dict[str, Any]:
        type_name = name[0].upper() + name[1:] + "Input"
        data = await self.call(
            f"mutation($i: {type_name}!) {{ {name}(input: $i) {{ {selection} "
            "errors { field message } } }",
            {"i": input},
        )
        payload: dict[str, Any] = data[name]
        if payload["errors"]:
            raise RuntimeError(f"demo seeding failed: {payload['errors'][0]['message']}")
        return payload


async def seed_demo(settings: Settings, site_url: str) -> DemoSeed | None:
    """Creates the demo once; None when the demo user already has its organization."""
    token = LocalIssuer(settings).mint(email=DEMO_EMAIL)
    url = f"http://{settings.gateway_host}:{settings.gateway_port}/graphql"
    async with httpx.AsyncClient(timeout=30) as http:
        api = _Api(http, url, token)
        viewer = await api.call("{ viewer { organizations { id name } } }")
        if any(o["name"] == DEMO_ORG for o in viewer["viewer"]["organizations"]):
            return None
        org = (await api.mutate("createOrganization", {"name": DEMO_ORG}, "organization { id }"))[
            "organization"
        ]["id"]
        project = (
            await api.mutate(
                "createProject", {"organizationId": org, "name": "Fixture shop"}, "project { id }"
            )
        )["project"]["id"]
        report = (
            await api.mutate(
                "createReport",
                {
                    "projectId": project,
                    "name": "Shop catalogue",
                    "serviceCode": "generic.html",
                    "recordKeyFields": ["id"],
                    "parameters": catalog_parameters(site_url),
                },
                "report { id }",
            )
        )["report"]["id"]
        run = (await api.mutate("triggerRun", {"reportId": report}, "run { id }"))["run"]["id"]
    return DemoSeed(organization_id=org, report_id=report, run_id=run)
