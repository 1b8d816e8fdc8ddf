"""Imports every model so metadata (Alembic, create_all) sees all tables."""

from trawl.domain.accounts.models import (
    Invitation,
    MachineClient,
    Organization,
    OrgMembership,
    User,
)
from trawl.domain.db import Base
from trawl.domain.deliveries.models import Delivery
from trawl.domain.outbox import OutboxEvent
from trawl.domain.projects.models import Project, ProjectMembership
from trawl.domain.reports.models import Report, Run, RunAttempt, ServiceCode

__all__ = [
    "Base",
    "Delivery",
    "Invitation",
    "MachineClient",
    "OrgMembership",
    "Organization",
    "OutboxEvent",
    "Project",
    "ProjectMembership",
    "Report",
    "Run",
    "RunAttempt",
    "ServiceCode",
    "User",
]
