"""Accounts queries: the viewer and an organization by id."""

from __future__ import annotations

import strawberry

from trawl.graphql.accounts.types import Organization, User, Viewer
from trawl.graphql.context import Context
from trawl.graphql.errors import UserInputError, graphql_error
from trawl.graphql.relay import raw_id
from trawl.grpc_services.gen.accounts.v1 import accounts_pb2 as pb


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The caller: their user and the organizations they belong to.")
    async def viewer(self, info: strawberry.Info[Context, None]) -> Viewer:
        ctx = info.context
        accounts = ctx.clients.accounts
        reply = await ctx.query(accounts, accounts.stub.GetViewer, pb.GetViewerRequest())
        orgs = [Organization.from_pb(o) for o in reply.organizations]
        for org in reply.organizations:
            ctx.loaders.organization_by_id.prime(org.id, org)
        bound = next((o for o in orgs if o.raw_id == reply.token_organization_id), None)
        return Viewer(
            user=User.from_pb(reply.user),
            is_staff=reply.is_staff,
            is_machine=reply.is_machine,
            organizations=orgs,
            token_organization=bound,
        )

    @strawberry.field(description="An organization the caller belongs to.")
    async def organization(
        self, info: strawberry.Info[Context, None], id: strawberry.ID
    ) -> Organization | None:
        ctx = info.context
        try:
            org_id = raw_id(id, "Organization")
        except UserInputError as error:
            raise graphql_error(error) from None
        found = await ctx.loaders.organization_by_id.load(org_id)
        return Organization.from_pb(found) if found else None
