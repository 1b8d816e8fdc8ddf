"""`Run.dataset` and `Report.latestDataset`: resolvers that pass the caller's page, filter
and projection to DatasetsService; every rule (declared fields, types, access) is there."""

from __future__ import annotations

from typing import Annotated, Protocol

import strawberry

from trawl.graphql.context import Context
from trawl.graphql.datasets.types import DatasetCondition, DatasetConnection
from trawl.graphql.relay import decode_cursor
from trawl.grpc_services.gen.datasets.v1 import datasets_pb2 as pb


class _HasRawId(Protocol):
    raw_id: str


def records_query(
    ctx: Context,
    first: int | None,
    after: str | None,
    filter: list[DatasetCondition] | None,
    fields: list[str] | None,
) -> pb.RecordsQuery:
    query = pb.RecordsQuery(
        first=ctx.page_args(first),
        after=decode_cursor(after),
        filter=[c.to_pb() for c in filter or []],
    )
    if fields is not None:
        query.projection.fields.extend(fields)
    return query


Filter = Annotated[
    list[DatasetCondition] | None,
    strawberry.argument(description="Conditions every record must meet."),
]
Fields = Annotated[
    list[str] | None,
    strawberry.argument(
        description="Declared fields to return in `data` (dotted paths); all when omitted."
    ),
]


async def run_dataset(
    root: _HasRawId,
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    filter: Filter = None,
    fields: Fields = None,
) -> DatasetConnection | None:
    ctx = info.context
    client = ctx.clients.datasets
    request = pb.ListRunRecordsRequest(
        run_id=root.raw_id, query=records_query(ctx, first, after, filter, fields)
    )
    return DatasetConnection.from_pb(await ctx.query(client, client.stub.ListRunRecords, request))


async def report_latest_dataset(
    root: _HasRawId,
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    filter: Filter = None,
    fields: Fields = None,
) -> DatasetConnection | None:
    ctx = info.context
    client = ctx.clients.datasets
    request = pb.ListLatestReportRecordsRequest(
        report_id=root.raw_id, query=records_query(ctx, first, after, filter, fields)
    )
    reply = await ctx.query(client, client.stub.ListLatestReportRecords, request)
    return DatasetConnection.from_pb(reply) if reply.found else None
