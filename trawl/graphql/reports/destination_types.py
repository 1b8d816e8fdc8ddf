"""GraphQL types of report delivery destinations. Secret values are write-only: a destination
shows which secrets are set (`secretsSet`), never them."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from trawl.graphql.context import Context
from trawl.graphql.relay import to_global_id
from trawl.graphql.reports.documents import object_document
from trawl.graphql.scalars import required_datetime, to_datetime
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb

if TYPE_CHECKING:
    from trawl.graphql.datasets.mutations import ExportCompression, ExportFormat

# One vocabulary with dataset exports (lazy: that module imports the runs and reports types).
_DATASETS = "trawl.graphql.datasets.mutations"


@strawberry.enum(description="How a report's files reach their recipient.")
class DeliveryMedium(Enum):
    S3 = "s3"
    SFTP = "sftp"
    FTP = "ftp"
    EMAIL = "email"
    WEBHOOK = "webhook"


@strawberry.type(description="Where a report's runs are delivered, in which format and name.")
class Destination:
    id: strawberry.ID
    medium: DeliveryMedium
    format: Annotated[ExportFormat, strawberry.lazy(_DATASETS)]
    compression: Annotated[ExportCompression, strawberry.lazy(_DATASETS)]
    file_name_template: str = strawberry.field(
        description="Placeholders: {report_name} {run_id} {run_date} {run_time} {format_ext}."
    )
    config: JSON = strawberry.field(
        description="The medium's plain settings (host, bucket, url…); never a secret."
    )
    secrets_set: list[str] = strawberry.field(
        description="Names of the secrets stored (password, privateKey…); values are write-only."
    )
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_pb(cls, destination: pb.ReportDestination) -> Destination:
        from trawl.graphql.datasets.mutations import ExportCompression, ExportFormat

        return cls(
            id=to_global_id("Destination", destination.id),
            medium=DeliveryMedium(destination.medium),
            format=ExportFormat(destination.format),
            compression=ExportCompression(destination.compression),
            file_name_template=destination.file_name_template,
            config=object_document(destination.config_json),
            secrets_set=list(destination.secrets_set),
            created_at=required_datetime(destination, "created_at"),
            updated_at=to_datetime(destination, "updated_at"),
        )


async def report_destinations(
    info: strawberry.Info[Context, None], report_id: str
) -> list[Destination]:
    found = await info.context.loaders.destinations_by_report.load(report_id)
    return [Destination.from_pb(d) for d in found]
