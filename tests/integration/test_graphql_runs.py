"""Feature tests of runs and the per-organization run limit: GraphQL over HTTP to a running
gateway → gRPC services → database. No event bus or worker runs in this fixture, so a
triggered run stays QUEUED until it is cancelled."""

from __future__ import annotations

import asyncio

import grpc

from tests.support.graphql import (
    GraphQLClient,
    new_owner_with_project,
    new_report,
    staff_token,
    trigger_run,
)
from tests.support.runs import raw_id
from trawl.grpc_services.gen.reports.v1 import reports_pb2, reports_pb2_grpc

RUN_FIELDS = """id state attempt maxAttempts queuedAt cancelRequestedAt finishedAt
  trigger { kind scheduleId user { email } } rerunOf { id } stats { pages records errors bytes }
  report { id } project { id } attempts { attempt }"""
RUN = f"query($id: ID!) {{ run(id: $id) {{ {RUN_FIELDS} }} }}"


async def test_triggered_run_is_queued_and_visible_everywhere(gql: GraphQLClient) -> None:
    owner, _org, project = await new_owner_with_project(gql)
    report = await new_report(gql, owner, project)
    payload = await gql.mutate(
        "triggerRun", {"reportId": report["id"]}, f"run {{ {RUN_FIELDS} }}", token=owner.token
    )
    run = payload["run"]
    assert run["state"] == "QUEUED"
    assert run["trigger"] == {"kind": "MANUAL", "scheduleId": None, "user": {"email": owner.email}}
    assert run["report"] == {"id": report["id"]} and run["project"] == {"id": project}
    assert run["rerunOf"] is None and run["attempts"] == []
    assert run["stats"] == {"pages": 0, "records": 0, "errors": 0, "bytes": 0}
    assert (await gql.execute(RUN, {"id": run["id"]}, token=owner.token)).data["run"] == run
    lists = """query($r: ID!, $p: ID!) {
      report(id: $r) { runs { totalCount nodes { id } } }
      project(id: $p) { runs(states: [QUEUED]) { nodes { id } } done: runs(states: [SUCCEEDED]) {
        totalCount } } }"""
    listed = (await gql.execute(lists, {"r": report["id"], "p": project}, token=owner.token)).data
    assert listed["report"]["runs"] == {"totalCount": 1, "nodes": [{"id": run["id"]}]}
    assert listed["project"]["runs"]["nodes"] == [{"id": run["id"]}]
    assert listed["project"]["done"]["totalCount"] == 0


async def test_queued_run_is_cancelled_and_a_finished_run_rerun(gql: GraphQLClient) -> None:
    owner, _org, project = await new_owner_with_project(gql)
    report = await new_report(gql, owner, project)
    run_id = await trigger_run(gql, owner, report["id"])
    early = await gql.mutate("rerun", {"runId": run_id}, "run { id }", token=owner.token)
    assert early["errors"][0]["code"] == "PRECONDITION_FAILED"
    cancelled = await gql.mutate(
        "cancelRun",
        {"runId": run_id},
        "run { state cancelRequestedAt finishedAt }",
        token=owner.token,
    )
    assert cancelled["run"]["state"] == "CANCELLED"
    assert cancelled["run"]["finishedAt"] is not None
    rerun = await gql.mutate(
        "rerun",
        {"runId": run_id},
        "run { id state trigger { kind user { email } } rerunOf { id } }",
        token=owner.token,
    )
    assert rerun["errors"] == []
    assert rerun["run"]["id"] != run_id
    assert rerun["run"]["state"] == "QUEUED"
    assert rerun["run"]["trigger"] == {"kind": "RERUN", "user": {"email": owner.email}}
    assert rerun["run"]["rerunOf"] == {"id": run_id}


async def test_staff_set_run_limit_and_the_next_trigger_names_it(gql: GraphQLClient) -> None:
    owner, org, project = await new_owner_with_project(gql)
    staff = staff_token(gql)
    limit_input = {"organizationId": org, "maxConcurrentRuns": 2}
    refused = await gql.execute(
        "mutation($i: SetOrganizationRunLimitInput!) { setOrganizationRunLimit(input: $i) { "
        "runLimit { maxConcurrentRuns } } }",
        {"i": limit_input},
        token=owner.token,
    )
    assert refused.error_codes == ["PERMISSION_DENIED"]
    selection = "runLimit { maxConcurrentRuns overridden activeRuns }"
    set_limit = await gql.mutate("setOrganizationRunLimit", limit_input, selection, token=staff)
    assert set_limit["runLimit"] == {"maxConcurrentRuns": 2, "overridden": True, "activeRuns": 0}
    report = await new_report(gql, owner, project)
    for _ in range(2):
        await trigger_run(gql, owner, report["id"])
    third = await gql.mutate(
        "triggerRun", {"reportId": report["id"]}, "run { id }", token=owner.token
    )
    assert third["errors"][0]["code"] == "PRECONDITION_FAILED"
    assert "limit is 2" in third["errors"][0]["message"]
    seen = await gql.execute(
        "query($id: ID!) { organization(id: $id) { runLimit { maxConcurrentRuns activeRuns } } }",
        {"id": org},
        token=owner.token,
    )
    assert seen.data["organization"]["runLimit"] == {"maxConcurrentRuns": 2, "activeRuns": 2}
    reset = await gql.mutate(
        "setOrganizationRunLimit", {"organizationId": org}, selection, token=staff
    )
    assert reset["runLimit"]["overridden"] is False


async def test_nested_runs_and_reports_cost_constant_grpc_calls(gql: GraphQLClient) -> None:
    owner, _org, project = await new_owner_with_project(gql)
    # Two queries: in one, a listing of reports could prime the loader the runs' reports use.
    runs = """query($id: ID!) { project(id: $id) { runs { nodes { id
      trigger { user { email } } rerunOf { id } report { name serviceCode { code } project { id } }
    } } } }"""
    reports = """query($id: ID!) { project(id: $id) { reports { nodes { name
      serviceCode { code } project { id }
      runs(first: 5) { totalCount nodes { id attempts { attempt state } } } } } } }"""
    calls = []
    for count in (1, 3):
        while True:
            listed = await gql.execute(runs, {"id": project}, token=owner.token)
            if len(listed.data["project"]["runs"]["nodes"]) >= count:
                break
            await trigger_run(gql, owner, (await new_report(gql, owner, project))["id"])
        result = await gql.execute(reports, {"id": project}, token=owner.token)
        assert len(result.data["project"]["reports"]["nodes"]) == count
        runs_seen = [
            r for n in result.data["project"]["reports"]["nodes"] for r in n["runs"]["nodes"]
        ]
        assert len(runs_seen) == count and all(r["attempts"] is not None for r in runs_seen)
        # Report.runs and Run.attempts are batched: one call per level, whatever the count.
        calls.append((listed.grpc_calls, result.grpc_calls))
    assert calls[0] == calls[1]


async def test_a_malformed_cursor_is_an_input_error_naming_after(gql: GraphQLClient) -> None:
    owner, _org, project = await new_owner_with_project(gql)
    for cursor in ("%%%", "bm90LWEtY3Vyc29y"):  # not base64; base64 of "not-a-cursor"
        result = await gql.execute(
            "query($id: ID!, $after: String) { project(id: $id) { runs(after: $after) { totalCount } } }",
            {"id": project, "after": cursor},
            token=owner.token,
        )
        assert result.errors[0]["extensions"] == {"code": "INVALID_INPUT", "field": "after"}


async def test_concurrent_triggers_never_exceed_the_run_limit(gql: GraphQLClient) -> None:
    """Triggers racing each other: the limit holds (MariaDB: the count is re-read under the
    organization's row lock, at READ COMMITTED)."""
    owner, org, project = await new_owner_with_project(gql)
    await gql.mutate(
        "setOrganizationRunLimit",
        {"organizationId": org, "maxConcurrentRuns": 2},
        "runLimit { maxConcurrentRuns }",
        token=staff_token(gql),
    )
    report = await new_report(gql, owner, project)
    payloads = await asyncio.gather(
        *(
            gql.mutate("triggerRun", {"reportId": report["id"]}, "run { id }", token=owner.token)
            for _ in range(6)
        )
    )
    started = [p for p in payloads if not p["errors"]]
    refused = [p for p in payloads if p["errors"]]
    assert len(started) == 2
    assert all(p["errors"][0]["code"] == "PRECONDITION_FAILED" for p in refused)


async def test_runs_of_many_reports_page_filter_and_stay_in_their_organization(
    gql: GraphQLClient,
) -> None:
    """`Report.runs` inside a report listing is answered by one batched call: each report
    still gets its own page, total, cursor and state filter, and the batched RPC called
    directly with another organization's report and run ids answers nothing of them."""
    owner, _org, project = await new_owner_with_project(gql)
    busy = await new_report(gql, owner, project)
    quiet = await new_report(gql, owner, project)
    busy_runs = [await trigger_run(gql, owner, busy["id"]) for _ in range(3)]
    quiet_run = await trigger_run(gql, owner, quiet["id"])
    cancelled = await gql.mutate(
        "cancelRun", {"runId": busy_runs[0]}, "run { state }", token=owner.token
    )
    assert cancelled["errors"] == []
    listing = """query($id: ID!, $after: String) { project(id: $id) { reports { nodes { id
      page: runs(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        nodes { id } }
      queued: runs(states: [QUEUED]) { totalCount nodes { id } } } } } }"""
    first = await gql.execute(listing, {"id": project}, token=owner.token)
    by_report = {n["id"]: n for n in first.data["project"]["reports"]["nodes"]}
    busy_page = by_report[busy["id"]]["page"]
    assert [n["id"] for n in busy_page["nodes"]] == busy_runs[:0:-1]  # newest first
    assert busy_page["totalCount"] == 3 and busy_page["pageInfo"]["hasNextPage"] is True
    quiet_page = by_report[quiet["id"]]["page"]
    assert [n["id"] for n in quiet_page["nodes"]] == [quiet_run]
    assert quiet_page["pageInfo"]["hasNextPage"] is False
    assert by_report[busy["id"]]["queued"]["totalCount"] == 2
    assert [n["id"] for n in by_report[busy["id"]]["queued"]["nodes"]] == busy_runs[:0:-1]

    after = busy_page["pageInfo"]["endCursor"]
    second = await gql.execute(listing, {"id": project, "after": after}, token=owner.token)
    rest = {n["id"]: n["page"] for n in second.data["project"]["reports"]["nodes"]}
    assert [n["id"] for n in rest[busy["id"]]["nodes"]] == [busy_runs[0]]
    assert rest[busy["id"]]["totalCount"] == 3
    assert rest[busy["id"]]["pageInfo"]["hasNextPage"] is False

    stranger, _other_org, _other_project = await new_owner_with_project(gql)
    async with grpc.aio.insecure_channel(gql.platform.grpc_target) as channel:
        runs = reports_pb2_grpc.RunsServiceStub(channel)
        auth = (("authorization", f"Bearer {stranger.token}"),)
        pages = await runs.BatchListReportRuns(
            reports_pb2.BatchListReportRunsRequest(report_ids=[raw_id(busy["id"])]),
            metadata=auth,
        )
        attempts = await runs.BatchListRunAttempts(
            reports_pb2.BatchListRunAttemptsRequest(run_ids=[raw_id(r) for r in busy_runs]),
            metadata=auth,
        )
    assert list(pages.pages) == [] and list(attempts.runs) == []
