"""Names of the domain events and the one way services write them (into the outbox, in the
caller's transaction). Consumers: the workflow handler and the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain.access import Actor
from trawl.domain.outbox import record_event

ORGANIZATION_CREATED = "OrganizationCreated"
ORGANIZATION_UPDATED = "OrganizationUpdated"
MEMBER_INVITED = "MemberInvited"
MEMBER_ADDED = "MemberAdded"
MEMBER_REMOVED = "MemberRemoved"
MEMBER_ROLE_CHANGED = "MemberRoleChanged"
PROJECT_CREATED = "ProjectCreated"
PROJECT_UPDATED = "ProjectUpdated"
PROJECT_DELETED = "ProjectDeleted"
PROJECT_MEMBER_ADDED = "ProjectMemberAdded"
PROJECT_MEMBER_REMOVED = "ProjectMemberRemoved"
PROJECT_MEMBER_ROLE_CHANGED = "ProjectMemberRoleChanged"
SERVICE_CODE_CREATED = "ServiceCodeCreated"
SERVICE_CODE_UPDATED = "ServiceCodeUpdated"
SERVICE_CODE_RETIRED = "ServiceCodeRetired"
REPORT_CREATED = "ReportCreated"
REPORT_UPDATED = "ReportUpdated"
REPORT_ARCHIVED = "ReportArchived"
REPORT_DELETED = "ReportDeleted"
# Destinations replaced; the data names each destination and which secrets are set, never them.
REPORT_DESTINATIONS_CHANGED = "ReportDestinationsChanged"
RUN_REQUESTED = "RunRequested"
RUN_STATE_CHANGED = "RunStateChanged"
RUN_CANCEL_REQUESTED = "RunCancelRequested"
# Once per run: terminal, and the stream job has taken in every record of its last attempt.
RUN_DATASET_READY = "RunDatasetReady"
SCHEDULED_RUN_SKIPPED = "ScheduledRunSkipped"
# A destination of a run got its dataset, or ran out of attempts (the error is the user's
# message, never a secret); a user asked for one destination to be tried again.
DELIVERY_SUCCEEDED = "DeliverySucceeded"
DELIVERY_FAILED = "DeliveryFailed"
REDELIVERY_REQUESTED = "RedeliveryRequested"
ORGANIZATION_RUN_LIMIT_CHANGED = "OrganizationRunLimitChanged"

# Report events after which the report's Temporal Schedule must match the database.
SCHEDULE_AFFECTING = frozenset({REPORT_CREATED, REPORT_UPDATED, REPORT_ARCHIVED, REPORT_DELETED})


def actor_ref(actor: Actor, system_permission: str = "trawl:system") -> tuple[str, str]:
    principal = actor.principal
    if principal.has_permission(system_permission):
        return "system", principal.subject
    if principal.is_machine:
        return "machine", principal.subject
    return "user", actor.user_id


def emit(
    session: AsyncSession,
    actor: Actor | tuple[str, str],
    event_type: str,
    organization_id: str | None,
    data: dict[str, Any],
) -> None:
    kind, actor_id = actor_ref(actor) if isinstance(actor, Actor) else actor
    record_event(session, event_type, organization_id, data, actor_kind=kind, actor_id=actor_id)
