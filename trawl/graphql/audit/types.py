"""GraphQL types of the audit log, built from AuditService replies.

Imported by the accounts types (for `Organization.auditLog`), so it reaches them lazily."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from trawl.graphql.context import Context
from trawl.graphql.relay import PageInfo
from trawl.graphql.scalars import required_datetime
from trawl.grpc_services.gen.audit.v1 import audit_pb2 as pb

if TYPE_CHECKING:
    from trawl.graphql.accounts.types import User

USER_ACTOR = "user"


@strawberry.type(description="Who caused an event.")
class AuditActor:
    kind: str = strawberry.field(description="user, machine, system or schedule.")
    id: str = strawberry.field(description="The actor's id as recorded (a user's raw id).")

    @strawberry.field(description="The user, when a user acted.")
    async def user(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[User, strawberry.lazy("trawl.graphql.accounts.types")] | None:
        from trawl.graphql.accounts.types import User

        if self.kind != USER_ACTOR or not self.id:
            return None
        found = await info.context.loaders.user_by_id.load(self.id)
        return User.from_pb(found) if found else None


@strawberry.type(description="One domain event of an organization.")
class AuditEvent:
    event_id: str
    type: str = strawberry.field(description="e.g. `ReportCreated`, `RunStateChanged`.")
    occurred_at: datetime
    actor: AuditActor
    data: JSON

    @classmethod
    def from_pb(cls, event: pb.AuditEvent) -> AuditEvent:
        return cls(
            event_id=event.event_id,
            type=event.type,
            occurred_at=required_datetime(event, "occurred_at"),
            actor=AuditActor(kind=event.actor_kind, id=event.actor_id),
            data=JSON(json.loads(event.data_json) if event.data_json else {}),
        )


@strawberry.type(
    description="A page of the audit log, newest first. The log hands out one cursor per "
    "page: continue with `pageInfo.endCursor`."
)
class AuditEventConnection:
    nodes: list[AuditEvent]
    page_info: PageInfo
