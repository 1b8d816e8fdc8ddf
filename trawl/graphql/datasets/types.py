"""GraphQL types of datasets, built from DatasetsService replies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from trawl.graphql.context import Context
from trawl.graphql.relay import PageInfo, encode_cursor
from trawl.graphql.scalars import Long
from trawl.grpc_services.gen.datasets.v1 import datasets_pb2 as pb

if TYPE_CHECKING:
    from trawl.graphql.runs.types import Run


@strawberry.enum(description="How a dataset condition compares a field with its value.")
class DatasetFilterOp(Enum):
    EQ = pb.CONDITION_OP_EQ
    IN = pb.CONDITION_OP_IN
    GT = pb.CONDITION_OP_GT
    GTE = pb.CONDITION_OP_GTE
    LT = pb.CONDITION_OP_LT
    LTE = pb.CONDITION_OP_LTE
    EXISTS = pb.CONDITION_OP_EXISTS
    CONTAINS = pb.CONDITION_OP_CONTAINS


@strawberry.input(
    description="A condition on a field the report's record schema declares (dotted path for "
    "nested objects). `value` is a JSON literal of the field's type: EQ a string, number or "
    "boolean; IN a list of those; GT/GTE/LT/LTE a number (or a string, compared as text); "
    "EXISTS true or false (default true); CONTAINS a substring of a string field "
    "(case-insensitive) or an element of an array field."
)
class DatasetCondition:
    field: str
    op: DatasetFilterOp
    value: JSON | None = None

    def to_pb(self) -> pb.Condition:
        text = "" if self.value is None else json.dumps(self.value)
        return pb.Condition(field=self.field, op=self.op.value, value_json=text)


def _emitted_at(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@strawberry.type(description="One stored record of a run.")
class DatasetRecord:
    record_id: str
    attempt: int = strawberry.field(description="The attempt that emitted it.")
    sequence: Long = strawberry.field(description="Its position in that attempt's output.")
    emitted_at: datetime | None
    data: JSON = strawberry.field(
        description="The record's fields as the crawler emitted them; only the selected "
        "ones when `fields` is given."
    )

    @classmethod
    def from_pb(cls, record: pb.Record) -> DatasetRecord:
        return cls(
            record_id=record.record_id,
            attempt=record.attempt,
            sequence=Long(record.sequence),
            emitted_at=_emitted_at(record.emitted_at) if record.emitted_at else None,
            data=json.loads(record.payload_json or "{}"),
        )


@strawberry.type
class DatasetRecordEdge:
    cursor: str
    node: DatasetRecord


@strawberry.type(
    description="Records of one run in a stable order (attempt, sequence, record id); "
    "continue with `pageInfo.endCursor`."
)
class DatasetConnection:
    raw_run_id: strawberry.Private[str]
    edges: list[DatasetRecordEdge]
    page_info: PageInfo
    total_count: Long = strawberry.field(description="Records matching the filter.")

    @classmethod
    def from_pb(cls, reply: pb.ListRecordsResponse) -> DatasetConnection:
        edges = [
            DatasetRecordEdge(cursor=encode_cursor(r.cursor), node=DatasetRecord.from_pb(r))
            for r in reply.records
        ]
        end = encode_cursor(reply.end_cursor) if reply.end_cursor else None
        return cls(
            raw_run_id=reply.run_id,
            edges=edges,
            page_info=PageInfo(has_next_page=reply.has_next_page, end_cursor=end),
            total_count=Long(reply.total_count),
        )

    @strawberry.field
    def nodes(self) -> list[DatasetRecord]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="The run these records belong to.")
    async def run(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[Run, strawberry.lazy("trawl.graphql.runs.types")] | None:
        from trawl.graphql.runs.types import Run

        found = await info.context.loaders.run_by_id.load(self.raw_run_id)
        return Run.from_pb(found) if found else None
