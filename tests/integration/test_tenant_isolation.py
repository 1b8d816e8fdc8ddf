"""Tenant isolation harness: walks the whole schema and calls every query and mutation
as a user of organization A with the ids of organization B's objects. Nothing of B may come
back and nothing of B may change. New operations are covered without editing this test;
an argument type the fillers do not know fails the test, so it cannot be skipped silently."""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
)

from tests.support.graphql import (
    GraphQLClient,
    Person,
    join_org,
    new_org,
    new_person,
    new_project,
    new_report,
    trigger_run,
)
from tests.support.live_client import SubscriptionError, open_live, ws_url
from trawl.config import Settings
from trawl.graphql.schema import build_schema

SNAPSHOT = """query($id: ID!) { organization(id: $id) { name slug
  members { nodes { role user { email } } }
  invitations { nodes { email role } }
  runLimit { maxConcurrentRuns overridden activeRuns }
  projects { nodes { name description members { nodes { role user { email } } }
    reports { nodes { name description parameters state retry { maxAttempts }
      schedule { cron timezone paused }
      destinations { id medium config secretsSet } } }
    runs { nodes { state cancelRequestedAt rerunOf { id } } } } } } }"""


@dataclass
class Victim:
    owner: Person
    member: Person
    ids: dict[str, list[str]] = field(default_factory=dict)  # argument name → candidate ids
    secrets: set[str] = field(default_factory=set)


def _raw(global_id: str) -> str:
    return base64.urlsafe_b64decode(global_id).decode().split(":", 1)[1]


async def _victim(gql: GraphQLClient) -> Victim:
    owner, member = await new_person(gql, "victim"), await new_person(gql, "victim-member")
    org = await new_org(gql, owner, "Victim Org Secret Name")
    await join_org(gql, owner, org, member, "MEMBER")
    project = await new_project(gql, owner, org, "Victim Project Secret")
    await gql.mutate(
        "addProjectMember",
        {"projectId": project, "userId": member.user_id, "role": "VIEWER"},
        "member { role }",
        token=owner.token,
    )
    invited = await gql.mutate(
        "inviteMember",
        {"organizationId": org, "email": "victim-invitee@example.com", "role": "ADMIN"},
        "invitation { id }",
        token=owner.token,
    )
    invitation = invited["invitation"]["id"]
    report = (
        await new_report(
            gql,
            owner,
            project,
            name="Victim Report Secret",
            description="Victim report description secret",
            schedule={"cron": "17 3 * * *", "timezone": "Asia/Kathmandu"},
        )
    )["id"]
    run = await trigger_run(gql, owner, report)
    destinations = await gql.mutate(
        "setReportDestinations",
        {
            "reportId": report,
            "destinations": [
                {
                    "medium": "WEBHOOK",
                    "format": "CSV",
                    "config": {"url": "https://victim-hooks.example.com/secret-path"},
                    "secrets": {"secret": "victim-webhook-secret-value"},
                }
            ],
        },
        "destinations { id }",
        token=owner.token,
    )
    destination = destinations["destinations"][0]["id"]
    victim = Victim(owner=owner, member=member)
    victim.ids = {
        "id": [org, project, owner.user_id, member.user_id, invitation, report, run, destination],
        "organizationId": [org],
        "projectId": [project],
        "userId": [member.user_id, owner.user_id],
        "reportId": [report],
        "runId": [run],
        "destinationId": [destination],
    }
    gids = {org, project, owner.user_id, member.user_id, invitation, report, run, destination}
    victim.secrets = gids | {_raw(g) for g in gids}
    victim.secrets |= {
        "Victim Org Secret Name",
        "Victim Project Secret",
        "victim-invitee@example.com",
        "Victim Report Secret",
        "Victim report description secret",
        "Asia/Kathmandu",
        "https://victim-hooks.example.com/secret-path",
        "victim-webhook-secret-value",
    }
    victim.secrets |= {owner.email, member.email}
    return victim


# Plausible values where "probe" would stop at input validation before reaching any data.
_STRINGS: dict[str, list[str]] = {
    "email": ["isolation@example.com"],
    "token": ["not-a-token"],
    "code": ["demo.echo"],
    "serviceCode": ["demo.echo"],
    "cron": ["0 9 * * *"],
    "timezone": ["UTC"],
}


def _unwrap(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def _values(name: str, type_: GraphQLInputType, victim: Victim) -> list[Any]:
    """Every value to try for an argument or input field."""
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        return [[v] for v in _values(name, inner.of_type, victim)]
    if isinstance(inner, GraphQLInputObjectType):
        per_field = {n: _values(n, f.type, victim) for n, f in inner.fields.items()}
        combos = itertools.product(*per_field.values())
        return [dict(zip(per_field, combo, strict=True)) for combo in combos]
    if isinstance(inner, GraphQLEnumType):
        return [next(iter(inner.values))]
    if isinstance(inner, GraphQLScalarType):
        if inner.name == "ID":
            if name not in victim.ids:
                pytest.fail(f"no victim id for ID argument '{name}': add it to the harness")
            return victim.ids[name]
        if inner.name == "String":
            return _STRINGS.get(name, ["probe"])
        if inner.name == "Int":
            return [5]
        if inner.name == "Boolean":
            return [True]
        if inner.name == "JSON":
            return [{}]
    pytest.fail(f"no filler for input type {inner}: extend the isolation harness")


def _selection(type_: Any, depth: int = 0) -> str:
    inner = _unwrap(type_)
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        return ""
    if isinstance(inner, GraphQLInterfaceType | GraphQLUnionType) or depth > 4:
        has_id = isinstance(inner, GraphQLInterfaceType) and "id" in inner.fields
        return "{ __typename " + ("id " if has_id else "") + "}"
    assert isinstance(inner, GraphQLObjectType)
    parts = []
    for name, fld in inner.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) for a in fld.args.values()):
            continue
        parts.append(f"{name} {_selection(fld.type, depth + 1)}")
    return "{ " + " ".join(parts) + " }"


def _operations(
    kind: str, fields: dict[str, GraphQLField], victim: Victim
) -> list[tuple[str, dict[str, Any]]]:
    operations = []
    for name, fld in fields.items():
        arg_values = {a: _values(a, arg.type, victim) for a, arg in fld.args.items()}
        decls = ", ".join(f"${a}: {arg.type}" for a, arg in fld.args.items())
        call = ", ".join(f"{a}: ${a}" for a in fld.args)
        document = f"{kind}{f'({decls})' if decls else ''} {{ {name}{f'({call})' if call else ''} {_selection(fld.type)} }}"
        for combo in itertools.product(*arg_values.values()):
            operations.append((document, dict(zip(arg_values, combo, strict=True))))
    return operations


def _leaks(body: dict[str, Any], variables: dict[str, Any], victim: Victim) -> set[str]:
    sent = json.dumps(variables)
    sent_raw = {_raw(v) for v in victim.ids["id"] if v in sent}
    text = json.dumps(body)
    return {s for s in victim.secrets if s in text and s not in sent and s not in sent_raw}


async def test_no_operation_reveals_or_changes_another_organization(gql: GraphQLClient) -> None:
    victim = await _victim(gql)
    attacker = await new_person(gql, "attacker")
    await new_org(gql, attacker, "Attacker Org")
    org_id = victim.ids["organizationId"][0]
    before = (await gql.execute(SNAPSHOT, {"id": org_id}, token=victim.owner.token)).data
    schema = build_schema(Settings())._schema
    assert schema.query_type is not None and schema.mutation_type is not None
    operations = _operations("query", schema.query_type.fields, victim)
    operations += _operations("mutation", schema.mutation_type.fields, victim)
    assert len(operations) > 20
    for document, variables in operations:
        result = await gql.execute(document, variables, token=attacker.token)
        assert result.status == 200, (document, result.body)
        leaked = _leaks(result.body, variables, victim)
        assert not leaked, f"{document} {variables} revealed {leaked}: {result.body}"
    after = (await gql.execute(SNAPSHOT, {"id": org_id}, token=victim.owner.token)).data
    assert after == before


async def test_no_subscription_reveals_another_organization(gql: GraphQLClient) -> None:
    """Every Subscription field, over a real WebSocket, as the attacker with the victim's ids:
    each is refused with an error and nothing of the victim's comes through."""
    victim = await _victim(gql)
    attacker = await new_person(gql, "attacker")
    await new_org(gql, attacker, "Attacker Org")
    schema = build_schema(Settings())._schema
    assert schema.subscription_type is not None
    operations = _operations("subscription", schema.subscription_type.fields, victim)
    assert len(operations) >= 3
    live = await open_live(ws_url(gql.platform.graphql_url), attacker.token)
    for document, variables in operations:
        subscription = await live.subscribe(document, variables)
        try:
            data = await subscription.next(timeout=5)
        except SubscriptionError as refused:
            leaked = _leaks({"errors": refused.errors}, variables, victim)
            assert not leaked, f"{document} {variables} revealed {leaked}"
            continue
        pytest.fail(f"{document} {variables} was served to another organization: {data}")
    await live.close()
