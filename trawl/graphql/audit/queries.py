"""`Organization.auditLog`: the organization's events, newest first (owners and admins).

Imported by the accounts types, so it imports nothing of them."""

from __future__ import annotations

from typing import Annotated, Protocol

import strawberry

from trawl.graphql.audit.types import AuditEvent, AuditEventConnection
from trawl.graphql.context import Context
from trawl.graphql.errors import UserInputError
from trawl.graphql.relay import PageInfo, decode_cursor, encode_cursor, from_global_id
from trawl.grpc_services.gen.audit.v1 import audit_pb2 as pb


class _HasRawId(Protocol):
    raw_id: str


def actor_filter(actor_id: strawberry.ID | None) -> str:
    """A User's global id becomes its raw id; any other actor id is passed as recorded."""
    if not actor_id:
        return ""
    try:
        type_name, raw = from_global_id(actor_id, field="actorId")
    except UserInputError:
        return str(actor_id)
    return raw if type_name == "User" else str(actor_id)


async def organization_audit_log(
    root: _HasRawId,
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    type: str | None = None,
    actor_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(description="A User's id, or an actor id as shown in `actor.id`."),
    ] = None,
) -> AuditEventConnection | None:
    """`Organization.auditLog`, optionally of one event type or one actor. Nullable: a
    member who may not read it gets an error on this field, not a null organization."""
    ctx = info.context
    audit = ctx.clients.audit
    reply = await ctx.query(
        audit,
        audit.stub.ListAuditEvents,
        pb.ListAuditEventsRequest(
            organization_id=root.raw_id,
            first=ctx.page_args(first),
            after=decode_cursor(after),
            event_type=type or "",
            actor_id=actor_filter(actor_id),
        ),
    )
    end = encode_cursor(reply.end_cursor) if reply.end_cursor else None
    return AuditEventConnection(
        nodes=[AuditEvent.from_pb(e) for e in reply.events],
        page_info=PageInfo(has_next_page=reply.has_next_page, end_cursor=end),
    )
