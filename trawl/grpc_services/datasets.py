"""DatasetsService servicer: proto ⇄ DatasetsService (who may read which run's records) and
DatasetReader (the records, from MongoDB). Hosted with the reports service."""

from __future__ import annotations

import asyncio

import grpc

from trawl.config import Settings
from trawl.domain.datasets.exports import DatasetExporter, ExportTarget, parse_options
from trawl.domain.datasets.filters import Condition, Op
from trawl.domain.datasets.service import (
    DatasetPage,
    DatasetReader,
    DatasetScope,
    DatasetsService,
    RecordsRequest,
)
from trawl.domain.datasets.store import RecordStore
from trawl.domain.db import Database
from trawl.domain.errors import InvalidInput
from trawl.grpc_services.base import ServicerBase, timestamp
from trawl.grpc_services.gen.datasets.v1 import datasets_pb2 as pb
from trawl.grpc_services.gen.datasets.v1 import datasets_pb2_grpc

PB_TO_OP: dict[int, Op] = {
    pb.CONDITION_OP_EQ: Op.EQ,
    pb.CONDITION_OP_IN: Op.IN,
    pb.CONDITION_OP_GT: Op.GT,
    pb.CONDITION_OP_GTE: Op.GTE,
    pb.CONDITION_OP_LT: Op.LT,
    pb.CONDITION_OP_LTE: Op.LTE,
    pb.CONDITION_OP_EXISTS: Op.EXISTS,
    pb.CONDITION_OP_CONTAINS: Op.CONTAINS,
}


def records_request(query: pb.RecordsQuery) -> RecordsRequest:
    conditions = []
    for condition in query.filter:
        if condition.op not in PB_TO_OP:
            raise InvalidInput("filter", f"an operator is required for '{condition.field}'")
        conditions.append(Condition(condition.field, PB_TO_OP[condition.op], condition.value_json))
    return RecordsRequest(
        first=query.first,
        after=query.after or None,
        conditions=conditions,
        fields=list(query.projection.fields) if query.HasField("projection") else None,
    )


def records_pb(page: DatasetPage) -> pb.ListRecordsResponse:
    return pb.ListRecordsResponse(
        found=True,
        run_id=page.run_id,
        records=[
            pb.Record(
                record_id=r.key.record_id,
                sequence=r.key.sequence,
                attempt=r.key.attempt,
                emitted_at=r.emitted_at,
                payload_json=r.payload_json,
                cursor=r.key.cursor(),
            )
            for r in page.records
        ],
        has_next_page=page.has_next,
        end_cursor=page.end_cursor or "",
        total_count=page.total,
    )


class DatasetsServicer(ServicerBase, datasets_pb2_grpc.DatasetsServiceServicer):
    def __init__(self, db: Database, settings: Settings, store: RecordStore | None = None) -> None:
        super().__init__(db, settings)
        self.store = store or RecordStore(settings)
        self.reader = DatasetReader(self.store, settings)
        self.exporter = DatasetExporter(settings, self.store)

    async def _read(self, scope: DatasetScope, query: pb.RecordsQuery) -> pb.ListRecordsResponse:
        return records_pb(await self.reader.read(scope, records_request(query)))

    async def ListRunRecords(
        self, request: pb.ListRunRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRecordsResponse:
        async with self.unit() as (session, actor):
            scope = await DatasetsService(session, self.settings).run_scope(actor, request.run_id)
        return await self._read(scope, request.query)

    async def ListLatestReportRecords(
        self, request: pb.ListLatestReportRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRecordsResponse:
        async with self.unit() as (session, actor):
            service = DatasetsService(session, self.settings)
            scope = await service.latest_scope(actor, request.report_id)
        if scope is None:
            return pb.ListRecordsResponse(found=False)
        return await self._read(scope, request.query)

    async def ExportRunRecords(
        self, request: pb.ExportRunRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.DatasetExport:
        parse_options(request.format, request.compression)  # bad options fail before work
        async with self.unit() as (session, actor):
            target = await DatasetsService(session, self.settings).export_target(
                actor, request.run_id
            )
        return await self._export(target, request)

    async def ExportRunForDelivery(
        self, request: pb.ExportRunRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.DatasetExport:
        parse_options(request.format, request.compression)
        async with self.system_unit() as (session, _actor):
            service = DatasetsService(session, self.settings)
            target = await service.export_target_for_system(request.run_id)
        return await self._export(target, request)

    async def _export(
        self, target: ExportTarget, request: pb.ExportRunRecordsRequest
    ) -> pb.DatasetExport:
        exported = await asyncio.to_thread(
            self.exporter.export, target, request.format, request.compression or "none"
        )
        return pb.DatasetExport(
            url=exported.url,
            expires_at=timestamp(exported.expires_at),
            file_name=exported.file_name,
            content_type=exported.content_type,
            size=exported.size,
            records=exported.records,
            bucket=exported.bucket,
            key=exported.key,
        )
