"""Feature tests: GraphQL over HTTP to a running gateway → gRPC services → database."""

from __future__ import annotations

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.graphql import GraphQLClient, join_org, new_org, new_person, new_project
from trawl.grpc_services.gen.accounts.v1 import accounts_pb2, accounts_pb2_grpc

ORG = "query($id: ID!) { organization(id: $id) { id name members { totalCount } } }"


async def test_missing_token_is_401_with_reason(gql: GraphQLClient) -> None:
    result = await gql.execute("{ viewer { isStaff } }", token=None)
    assert result.status == 401
    assert result.errors[0]["message"] == "missing bearer token"
    assert result.error_codes == ["UNAUTHENTICATED"]


async def test_expired_and_wrong_audience_tokens_are_401_naming_the_check(
    gql: GraphQLClient,
) -> None:
    expired = gql.platform.issuer.mint(email="x@example.com", ttl_seconds=-120)
    wrong_aud = gql.platform.issuer.mint(email="x@example.com", audience="https://other")
    for token, reason in ((expired, "token expired"), (wrong_aud, "wrong audience")):
        result = await gql.execute("{ viewer { isStaff } }", token=token)
        assert result.status == 401
        assert reason in result.errors[0]["message"]


async def test_services_reject_calls_without_a_valid_token(gql: GraphQLClient) -> None:
    async with grpc.aio.insecure_channel(gql.platform.grpc_target) as channel:
        stub = accounts_pb2_grpc.AccountsServiceStub(channel)
        try:
            await stub.GetViewer(
                accounts_pb2.GetViewerRequest(), metadata=(("authorization", "Bearer nope"),)
            )
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert error.details() == "malformed token"
        else:
            raise AssertionError("the service accepted a bad token")
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_graphiql_page_is_served_to_browsers(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    response = await http.get(gql.platform.graphql_url, headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_creator_becomes_owner_and_sees_org_in_viewer(gql: GraphQLClient) -> None:
    alice = await new_person(gql, "alice")
    org_id = await new_org(gql, alice, "Acme Scraping")
    viewer = await gql.execute(
        "{ viewer { organizations { id name viewerRole } } }", token=alice.token
    )
    assert viewer.data["viewer"]["organizations"] == [
        {"id": org_id, "name": "Acme Scraping", "viewerRole": "OWNER"}
    ]


async def test_invalid_and_duplicate_slugs_are_payload_errors(gql: GraphQLClient) -> None:
    alice = await new_person(gql)
    bad = await gql.mutate(
        "createOrganization",
        {"name": "X", "slug": "-no-"},
        "organization { id }",
        token=alice.token,
    )
    assert bad["organization"] is None
    assert bad["errors"][0]["field"] == ["input", "slug"]
    assert bad["errors"][0]["code"] == "INVALID_INPUT"
    slug = f"dup-{alice.email.split('@')[0].lower()}"[:60]
    first = await gql.mutate(
        "createOrganization", {"name": "A", "slug": slug}, "organization { id }", token=alice.token
    )
    assert first["errors"] == []
    second = await gql.mutate(
        "createOrganization", {"name": "B", "slug": slug}, "organization { id }", token=alice.token
    )
    assert second["errors"][0]["code"] == "CONFLICT"


async def test_invited_member_joins_with_the_invited_role(gql: GraphQLClient) -> None:
    owner, bob = await new_person(gql), await new_person(gql, "bob")
    org_id = await new_org(gql, owner)
    await join_org(gql, owner, org_id, bob, "ADMIN")
    result = await gql.execute(ORG, {"id": org_id}, token=bob.token)
    assert result.data["organization"]["members"]["totalCount"] == 2


async def test_invitation_for_someone_else_is_refused(gql: GraphQLClient) -> None:
    owner, bob, eve = await new_person(gql), await new_person(gql), await new_person(gql, "eve")
    org_id = await new_org(gql, owner)
    invited = await gql.mutate(
        "inviteMember",
        {"organizationId": org_id, "email": bob.email, "role": "MEMBER"},
        "invitationToken",
        token=owner.token,
    )
    result = await gql.execute(
        "mutation($t: String!) { acceptInvitation(input: {token: $t}) { member { role } } }",
        {"t": invited["invitationToken"]},
        token=eve.token,
    )
    assert result.error_codes == ["PERMISSION_DENIED"]


async def test_member_cannot_invite_and_role_change_applies_on_next_request(
    gql: GraphQLClient,
) -> None:
    owner, bob = await new_person(gql), await new_person(gql)
    org_id = await new_org(gql, owner)
    await join_org(gql, owner, org_id, bob, "ADMIN")
    invite = "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { invitation { id } errors { code } } }"
    variables = {"i": {"organizationId": org_id, "email": "c@example.com", "role": "MEMBER"}}
    assert (await gql.execute(invite, variables, token=bob.token)).data["inviteMember"][
        "errors"
    ] == []
    changed = await gql.mutate(
        "changeMemberRole",
        {"organizationId": org_id, "userId": bob.user_id, "role": "MEMBER"},
        "member { role }",
        token=owner.token,
    )
    assert changed["member"]["role"] == "MEMBER"
    refused = await gql.execute(invite, variables, token=bob.token)
    assert refused.error_codes == ["PERMISSION_DENIED"]


async def test_last_owner_cannot_be_demoted_or_removed(gql: GraphQLClient) -> None:
    owner = await new_person(gql)
    org_id = await new_org(gql, owner)
    demote = await gql.mutate(
        "changeMemberRole",
        {"organizationId": org_id, "userId": owner.user_id, "role": "ADMIN"},
        "member { role }",
        token=owner.token,
    )
    assert demote["errors"][0]["code"] == "PRECONDITION_FAILED"
    remove = await gql.mutate(
        "removeMember",
        {"organizationId": org_id, "userId": owner.user_id},
        "removedUserId",
        token=owner.token,
    )
    assert "at least one owner" in remove["errors"][0]["message"]


async def test_removed_member_loses_access(gql: GraphQLClient) -> None:
    owner, bob = await new_person(gql), await new_person(gql)
    org_id = await new_org(gql, owner)
    await join_org(gql, owner, org_id, bob, "MEMBER")
    removed = await gql.mutate(
        "removeMember",
        {"organizationId": org_id, "userId": bob.user_id},
        "removedUserId",
        token=owner.token,
    )
    assert removed["errors"] == []
    assert (await gql.execute(ORG, {"id": org_id}, token=bob.token)).data["organization"] is None


async def test_org_bound_token_reaches_only_its_org(gql: GraphQLClient) -> None:
    alice = await new_person(gql)
    first, second = await new_org(gql, alice), await new_org(gql, alice)
    first_raw = __import__("base64").urlsafe_b64decode(first).decode().split(":", 1)[1]
    bound = gql.platform.token(alice.email, org_id=first_raw)
    assert (await gql.execute(ORG, {"id": first}, token=bound)).data["organization"]["id"] == first
    assert (await gql.execute(ORG, {"id": second}, token=bound)).data["organization"] is None
    created = await gql.execute(
        'mutation { createOrganization(input: {name: "x"}) { organization { id } } }', token=bound
    )
    assert created.error_codes == ["PERMISSION_DENIED"]


async def test_project_visibility_and_roles(gql: GraphQLClient) -> None:
    owner, member, viewer = await new_person(gql), await new_person(gql), await new_person(gql)
    org_id = await new_org(gql, owner)
    await join_org(gql, owner, org_id, member, "MEMBER")
    await join_org(gql, owner, org_id, viewer, "MEMBER")
    project_id = await new_project(gql, owner, org_id, "Prices")
    listing = "query($id: ID!) { organization(id: $id) { projects { totalCount } } }"
    assert (await gql.execute(listing, {"id": org_id}, token=member.token)).data["organization"][
        "projects"
    ]["totalCount"] == 0
    added = await gql.mutate(
        "addProjectMember",
        {"projectId": project_id, "userId": viewer.user_id, "role": "VIEWER"},
        "member { role user { email } }",
        token=owner.token,
    )
    assert added["member"] == {"role": "VIEWER", "user": {"email": viewer.email}}
    update = await gql.execute(
        'mutation($id: ID!) { updateProject(input: {id: $id, name: "n"}) { project { id } } }',
        {"id": project_id},
        token=viewer.token,
    )
    assert update.error_codes == ["PERMISSION_DENIED"]
    outsider = await gql.mutate(
        "addProjectMember",
        {"projectId": project_id, "userId": (await new_person(gql)).user_id, "role": "EDITOR"},
        "member { role }",
        token=owner.token,
    )
    assert outsider["errors"][0]["code"] == "INVALID_INPUT"
    deleted = await gql.mutate(
        "deleteProject", {"id": project_id}, "deletedProjectId", token=owner.token
    )
    assert deleted["deletedProjectId"] == project_id
    assert (
        await gql.execute(
            "query($id: ID!) { project(id: $id) { id } }", {"id": project_id}, token=owner.token
        )
    ).data["project"] is None


async def test_nested_projects_and_members_cost_constant_grpc_calls(gql: GraphQLClient) -> None:
    owner = await new_person(gql)
    org_id = await new_org(gql, owner)
    query = """query($id: ID!, $n: Int!) { organization(id: $id) { projects(first: $n) {
        nodes { name members { nodes { role user { email } } } } } } }"""
    calls = []
    for count in (2, 12):
        while True:
            listing = await gql.execute(query, {"id": org_id, "n": 50}, token=owner.token)
            if len(listing.data["organization"]["projects"]["nodes"]) >= count:
                break
            await new_project(gql, owner, org_id)
        result = await gql.execute(query, {"id": org_id, "n": count}, token=owner.token)
        assert len(result.data["organization"]["projects"]["nodes"]) == count
        calls.append(result.grpc_calls)
    assert calls[0] == calls[1]


async def test_pagination_and_page_size_cap(gql: GraphQLClient) -> None:
    owner = await new_person(gql)
    org_id = await new_org(gql, owner)
    for _ in range(5):
        await new_project(gql, owner, org_id)
    query = "query($id: ID!, $after: String) { organization(id: $id) { projects(first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } } } }"
    seen: list[str] = []
    after = None
    while True:
        page = (await gql.execute(query, {"id": org_id, "after": after}, token=owner.token)).data[
            "organization"
        ]["projects"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 5
    too_big = await gql.execute(
        "query($id: ID!) { organization(id: $id) { projects(first: 1000) { totalCount } } }",
        {"id": org_id},
        token=owner.token,
    )
    assert too_big.error_codes == ["INVALID_INPUT"]


async def test_operation_limits(gql: GraphQLClient) -> None:
    owner = await new_person(gql)
    aliases = " ".join(f"a{i}: viewer {{ isStaff }}" for i in range(40))
    assert (await gql.execute(f"{{ {aliases} }}", token=owner.token)).errors
    deep = "organization { id }"
    for _ in range(8):
        deep = f"organization {{ projects {{ nodes {{ {deep} }} }} }}"
    deep = "{ viewer { organizations { projects { nodes { " + deep + " } } } } }"
    assert (await gql.execute(deep, token=owner.token)).errors
