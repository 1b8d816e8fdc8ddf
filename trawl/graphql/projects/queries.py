"""Projects queries."""

from __future__ import annotations

import strawberry

from trawl.graphql.context import Context
from trawl.graphql.errors import UserInputError, graphql_error
from trawl.graphql.projects.types import Project
from trawl.graphql.relay import raw_id


@strawberry.type
class ProjectsQuery:
    @strawberry.field(description="A project the caller may read.")
    async def project(
        self, info: strawberry.Info[Context, None], id: strawberry.ID
    ) -> Project | None:
        try:
            project_id = raw_id(id, "Project")
        except UserInputError as error:
            raise graphql_error(error) from None
        found = await info.context.loaders.project_by_id.load(project_id)
        return Project.from_pb(found) if found else None
