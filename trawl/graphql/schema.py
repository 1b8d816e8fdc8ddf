"""One schema assembled from the per-domain Query and Mutation classes, with the operation
limits (depth, aliases, tokens) every request goes through."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig

from trawl.config import Settings
from trawl.graphql.accounts.mutations import AccountsMutation
from trawl.graphql.accounts.queries import AccountsQuery
from trawl.graphql.accounts.types import Organization, User
from trawl.graphql.context import Context
from trawl.graphql.datasets.mutations import DatasetsMutation
from trawl.graphql.errors import UserInputError
from trawl.graphql.live.subscriptions import Subscription
from trawl.graphql.loaders import Loaders
from trawl.graphql.node import Node
from trawl.graphql.projects.mutations import ProjectsMutation
from trawl.graphql.projects.queries import ProjectsQuery
from trawl.graphql.projects.types import Project
from trawl.graphql.relay import from_global_id
from trawl.graphql.reports.mutations import ReportsMutation
from trawl.graphql.reports.queries import ReportsQuery
from trawl.graphql.reports.service_code_mutations import ServiceCodesMutation
from trawl.graphql.reports.types import Report, ServiceCode
from trawl.graphql.runs.deliveries import DeliveriesMutation
from trawl.graphql.runs.mutations import RunsMutation
from trawl.graphql.runs.queries import RunsQuery
from trawl.graphql.runs.types import Run
from trawl.graphql.scalars import LONG_SCALAR, Long
from trawl.graphql.stats import CallStatsExtension


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when absent or not visible.")
    async def node(self, info: strawberry.Info[Context, None], id: strawberry.ID) -> Node | None:
        try:
            type_name, raw = from_global_id(id)
        except UserInputError:
            return None
        loaders = info.context.loaders
        if type_name == "Organization":
            org = await loaders.organization_by_id.load(raw)
            return Organization.from_pb(org) if org else None
        if type_name == "Project":
            project = await loaders.project_by_id.load(raw)
            return Project.from_pb(project) if project else None
        if type_name == "User":
            user = await loaders.user_by_id.load(raw)
            return User.from_pb(user) if user else None
        return await _reports_node(loaders, type_name, raw)


async def _reports_node(loaders: Loaders, type_name: str, raw: str) -> Node | None:
    if type_name == "Report":
        report = await loaders.report_by_id.load(raw)
        return Report.from_pb(report) if report else None
    if type_name == "Run":
        run = await loaders.run_by_id.load(raw)
        return Run.from_pb(run) if run else None
    if type_name == "ServiceCode":
        code = await loaders.service_code_by_code.load(raw)
        return ServiceCode.from_pb(code) if code else None
    return None


@strawberry.type
class Query(NodeQuery, AccountsQuery, ProjectsQuery, ReportsQuery, RunsQuery):
    pass


@strawberry.type
class Mutation(
    AccountsMutation,
    ProjectsMutation,
    ServiceCodesMutation,
    ReportsMutation,
    RunsMutation,
    DeliveriesMutation,
    DatasetsMutation,
):
    pass


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
    ]
    if settings.graphql_debug_stats:
        extensions.append(CallStatsExtension)
    if not settings.graphql_introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Organization, Project, User, ServiceCode, Report, Run],
        extensions=extensions,
        config=StrawberryConfig(scalar_map={Long: LONG_SCALAR}),
    )


def schema_sdl() -> str:
    return build_schema(Settings()).as_str() + "\n"
