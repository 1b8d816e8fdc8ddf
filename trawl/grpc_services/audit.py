"""AuditService servicer: proto ⇄ the audit log reader."""

from __future__ import annotations

import json

import grpc

from trawl.config import Settings
from trawl.domain.audit import list_audit_events
from trawl.domain.db import Database
from trawl.events.audit import AuditEntry, AuditLog
from trawl.grpc_services.base import ServicerBase, timestamp
from trawl.grpc_services.gen.audit.v1 import audit_pb2 as pb
from trawl.grpc_services.gen.audit.v1 import audit_pb2_grpc


def audit_event_pb(entry: AuditEntry) -> pb.AuditEvent:
    return pb.AuditEvent(
        event_id=entry.event_id,
        type=entry.type,
        organization_id=entry.organization_id,
        occurred_at=timestamp(entry.occurred_at),
        actor_kind=entry.actor_kind,
        actor_id=entry.actor_id,
        data_json=json.dumps(entry.data, sort_keys=True),
    )


class AuditServicer(ServicerBase, audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, db: Database, settings: Settings, log: AuditLog | None = None) -> None:
        super().__init__(db, settings)
        self.log = log or AuditLog(settings)

    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAuditEventsResponse:
        async with self.unit() as (_session, actor):
            page = await list_audit_events(
                actor,
                self.log,
                request.organization_id,
                first=request.first,
                after=request.after or None,
                event_type=request.event_type or None,
                actor_id=request.actor_id or None,
                default_size=self.settings.page_size_default,
                max_size=self.settings.page_size_max,
            )
            return pb.ListAuditEventsResponse(
                events=[audit_event_pb(e) for e in page.entries],
                has_next_page=page.has_next,
                end_cursor=page.end_cursor or "",
            )
