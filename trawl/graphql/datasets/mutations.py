"""`exportDataset`: a run's whole dataset as one file in a chosen format, and a presigned
download URL. The file is written by the reports service from MongoDB; the gateway only
forwards the caller's token and the options."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from trawl.graphql.context import Context
from trawl.graphql.errors import UserError
from trawl.graphql.mutation import payload_or_errors
from trawl.graphql.relay import raw_id
from trawl.graphql.scalars import Long, required_datetime
from trawl.grpc_services.gen.datasets.v1 import datasets_pb2 as pb


@strawberry.enum(description="File formats of a dataset export.")
class ExportFormat(Enum):
    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"
    XLSX = "xlsx"
    XML = "xml"
    YAML = "yaml"
    AVRO = "avro"
    PARQUET = "parquet"


@strawberry.enum(description="How an export file is packed.")
class ExportCompression(Enum):
    NONE = "none"
    GZIP = "gzip"
    ZIP = "zip"


@strawberry.input
class ExportDatasetInput:
    run_id: strawberry.ID
    format: ExportFormat
    compression: ExportCompression = ExportCompression.NONE


@strawberry.type(description="An exported dataset file, downloadable until `expiresAt`.")
class DatasetExport:
    url: str = strawberry.field(description="Presigned download URL.")
    expires_at: datetime
    file_name: str
    content_type: str
    size: Long = strawberry.field(description="Bytes, after compression.")
    records: Long

    @classmethod
    def from_pb(cls, export: pb.DatasetExport) -> DatasetExport:
        return cls(
            url=export.url,
            expires_at=required_datetime(export, "expires_at"),
            file_name=export.file_name,
            content_type=export.content_type,
            size=Long(export.size),
            records=Long(export.records),
        )


@strawberry.type
class ExportDatasetPayload:
    export: DatasetExport | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _export(ctx: Context, input: ExportDatasetInput) -> ExportDatasetPayload:
    client = ctx.clients.exports
    reply = await ctx.call(
        client,
        client.stub.ExportRunRecords,
        pb.ExportRunRecordsRequest(
            run_id=raw_id(input.run_id, "Run", "runId"),
            format=input.format.value,
            compression=input.compression.value,
        ),
    )
    return ExportDatasetPayload(export=DatasetExport.from_pb(reply))


@strawberry.type
class DatasetsMutation:
    @strawberry.mutation(
        description="Export a run's records to one file (CSV, JSON, JSON Lines, XLSX, XML, "
        "YAML, Avro or Parquet, optionally gzip or zip) and get a presigned download URL."
    )
    async def export_dataset(
        self, info: strawberry.Info[Context, None], input: ExportDatasetInput
    ) -> ExportDatasetPayload:
        return await payload_or_errors(ExportDatasetPayload, _export(info.context, input))
