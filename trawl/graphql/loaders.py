"""Request-scoped DataLoaders: a nested list costs one batched gRPC call per level,
whatever its length. Named for what they load, cached per request."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from strawberry.dataloader import DataLoader

from trawl.graphql.errors import graphql_error
from trawl.grpc_services.clients import ServiceError
from trawl.grpc_services.gen.accounts.v1 import accounts_pb2
from trawl.grpc_services.gen.common.v1 import common_pb2
from trawl.grpc_services.gen.projects.v1 import projects_pb2
from trawl.grpc_services.gen.reports.v1 import reports_pb2

if TYPE_CHECKING:
    from trawl.graphql.context import Context

MembersKey = tuple[str, int, str]  # (project id, first, after)
ReportRunsKey = tuple[str, int, str, tuple[int, ...]]  # (report id, first, after, states)


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.organization_by_id = DataLoader(load_fn=self._organizations)
        self.project_by_id = DataLoader(load_fn=self._projects)
        self.user_by_id = DataLoader(load_fn=self._users)
        self.members_by_project = DataLoader(load_fn=self._project_members)
        self.report_by_id = DataLoader(load_fn=self._reports)
        self.run_by_id = DataLoader(load_fn=self._runs)
        self.service_code_by_code = DataLoader(load_fn=self._service_codes)
        self.destinations_by_report = DataLoader(load_fn=self._destinations)
        self.runs_by_report = DataLoader(load_fn=self._report_runs)
        self.attempts_by_run = DataLoader(load_fn=self._run_attempts)

    async def _organizations(self, ids: Sequence[str]) -> list[accounts_pb2.Organization | None]:
        clients = self.ctx.clients
        reply = await self.ctx.query(
            clients.accounts,
            clients.accounts.stub.BatchGetOrganizations,
            accounts_pb2.BatchGetOrganizationsRequest(ids=list(ids)),
        )
        found = {o.id: o for o in reply.organizations}
        return [found.get(i) for i in ids]

    async def _projects(self, ids: Sequence[str]) -> list[projects_pb2.Project | None]:
        clients = self.ctx.clients
        reply = await self.ctx.query(
            clients.projects,
            clients.projects.stub.BatchGetProjects,
            projects_pb2.BatchGetProjectsRequest(ids=list(ids)),
        )
        found = {p.id: p for p in reply.projects}
        return [found.get(i) for i in ids]

    async def _users(self, ids: Sequence[str]) -> list[accounts_pb2.User | None]:
        clients = self.ctx.clients
        reply = await self.ctx.query(
            clients.accounts,
            clients.accounts.stub.BatchGetUsers,
            accounts_pb2.BatchGetUsersRequest(ids=list(ids)),
        )
        found = {u.id: u for u in reply.users}
        return [found.get(i) for i in ids]

    async def _project_members(
        self, keys: Sequence[MembersKey]
    ) -> list[projects_pb2.ProjectMembersPage | None]:
        """Keys sharing page arguments go in one call (normally all of them)."""
        groups: dict[tuple[int, str], list[str]] = defaultdict(list)
        for project_id, first, after in keys:
            groups[(first, after)].append(project_id)
        pages: dict[MembersKey, projects_pb2.ProjectMembersPage] = {}
        clients = self.ctx.clients
        for (first, after), project_ids in groups.items():
            reply = await self.ctx.query(
                clients.projects,
                clients.projects.stub.BatchListProjectMembers,
                projects_pb2.BatchListProjectMembersRequest(
                    project_ids=project_ids, page=common_pb2.PageRequest(first=first, after=after)
                ),
            )
            for page in reply.pages:
                pages[(page.project_id, first, after)] = page
        return [pages.get(key) for key in keys]

    async def _reports(self, ids: Sequence[str]) -> list[reports_pb2.Report | None]:
        clients = self.ctx.clients
        reply = await self.ctx.query(
            clients.reports,
            clients.reports.stub.BatchGetReports,
            reports_pb2.BatchGetReportsRequest(ids=list(ids)),
        )
        found = {r.id: r for r in reply.reports}
        return [found.get(i) for i in ids]

    async def _destinations(
        self, report_ids: Sequence[str]
    ) -> list[list[reports_pb2.ReportDestination]]:
        clients = self.ctx.clients
        reply = await self.ctx.query(
            clients.reports,
            clients.reports.stub.ListReportDestinations,
            reports_pb2.ListReportDestinationsRequest(report_ids=list(report_ids)),
        )
        by_report: dict[str, list[reports_pb2.ReportDestination]] = defaultdict(list)
        for destination in reply.destinations:
            by_report[destination.report_id].append(destination)
        return [by_report.get(i, []) for i in report_ids]

    async def _runs(self, ids: Sequence[str]) -> list[reports_pb2.Run | None]:
        clients = self.ctx.clients
        reply = await self.ctx.query(
            clients.runs,
            clients.runs.stub.BatchGetRuns,
            reports_pb2.BatchGetRunsRequest(ids=list(ids)),
        )
        found = {r.id: r for r in reply.runs}
        return [found.get(i) for i in ids]

    async def _report_runs(
        self, keys: Sequence[ReportRunsKey]
    ) -> list[reports_pb2.ReportRunsPage | None]:
        """Keys sharing page arguments and states go in one call (normally all of them)."""
        groups: dict[tuple[int, str, tuple[int, ...]], list[str]] = defaultdict(list)
        for report_id, first, after, states in keys:
            groups[(first, after, states)].append(report_id)
        pages: dict[ReportRunsKey, reports_pb2.ReportRunsPage] = {}
        clients = self.ctx.clients
        for (first, after, states), report_ids in groups.items():
            reply = await self.ctx.query(
                clients.runs,
                clients.runs.stub.BatchListReportRuns,
                reports_pb2.BatchListReportRunsRequest(
                    report_ids=report_ids,
                    page=common_pb2.PageRequest(first=first, after=after),
                    # The enum's wire values; the stubs type them as the wrapper class.
                    states=cast("list[reports_pb2.RunState]", list(states)),
                ),
            )
            for page in reply.pages:
                pages[(page.report_id, first, after, states)] = page
        return [pages.get(key) for key in keys]

    async def _run_attempts(self, run_ids: Sequence[str]) -> list[list[reports_pb2.RunAttempt]]:
        clients = self.ctx.clients
        reply = await self.ctx.query(
            clients.runs,
            clients.runs.stub.BatchListRunAttempts,
            reports_pb2.BatchListRunAttemptsRequest(run_ids=list(run_ids)),
        )
        found = {r.run_id: list(r.attempts) for r in reply.runs}
        return [found.get(i, []) for i in run_ids]

    async def _service_codes(self, codes: Sequence[str]) -> list[reports_pb2.ServiceCode | None]:
        """One listing of the active codes; a retired code a report still names is fetched
        on its own (rare)."""
        client = self.ctx.clients.service_codes
        reply = await self.ctx.query(
            client, client.stub.ListServiceCodes, reports_pb2.ListServiceCodesRequest()
        )
        found = {c.code: c for c in reply.service_codes}
        for code in codes:
            if code not in found:
                retired = await self._service_code(code)
                if retired is not None:
                    found[code] = retired
        return [found.get(code) for code in codes]

    async def _service_code(self, code: str) -> reports_pb2.ServiceCode | None:
        client = self.ctx.clients.service_codes
        try:
            return await self.ctx.call(
                client, client.stub.GetServiceCode, reports_pb2.GetServiceCodeRequest(code=code)
            )
        except ServiceError as error:
            if error.code == "NOT_FOUND":
                return None
            raise graphql_error(error) from None
