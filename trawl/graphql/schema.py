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

from trawl.config import Settings
from trawl.graphql.accounts.mutations import AccountsMutation
from trawl.graphql.accounts.queries import AccountsQuery
from trawl.graphql.accounts.types import Organization, User
from trawl.graphql.context import Context
from trawl.graphql.errors import UserInputError
from trawl.graphql.node import Node
from trawl.graphql.projects.mutations import ProjectsMutation
from trawl.graphql.projects.queries import ProjectsQuery
from trawl.graphql.projects.types import Project
from trawl.graphql.relay import from_global_id
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
        return None


@strawberry.type
class Query(NodeQuery, AccountsQuery, ProjectsQuery):
    pass


@strawberry.type
class Mutation(AccountsMutation, ProjectsMutation):
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
        query=Query, mutation=Mutation, types=[Organization, Project, User], extensions=extensions
    )


def schema_sdl() -> str:
    return build_schema(Settings()).as_str() + "\n"
