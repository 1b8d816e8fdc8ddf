"""Who may read an organization's audit log (owners and admins), and the bounds of a page.
The log itself lives in DynamoDB (trawl.events.audit)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from trawl.domain import validation
from trawl.domain.access import Actor
from trawl.domain.errors import InvalidInput, Unavailable
from trawl.events.audit import AuditLog, AuditPage
from trawl.tenants.permissions import OrgAction, require_org


async def list_audit_events(
    actor: Actor,
    log: AuditLog,
    org_id: str,
    *,
    first: int,
    after: str | None,
    event_type: str | None,
    actor_id: str | None,
    default_size: int,
    max_size: int,
) -> AuditPage:
    validation.entity_id("organizationId", org_id)
    require_org(actor.require_member(org_id), OrgAction.READ_AUDIT_LOG)
    if first < 0 or first > max_size:
        raise InvalidInput("first", f"must be between 0 and {max_size}")
    if event_type is not None and len(event_type) > 64:
        raise InvalidInput("type", "must be at most 64 characters")
    try:
        return await log.list(
            org_id, first or default_size, after, event_type=event_type, actor_id=actor_id
        )
    except (BotoCoreError, ClientError) as error:
        raise Unavailable(
            f"the audit log cannot be read right now ({type(error).__name__}); try again"
        ) from None
