"""Imports every model so metadata (Alembic, create_all) sees all tables."""

from trawl.domain.accounts.models import (
    Invitation,
    MachineClient,
    Organization,
    OrgMembership,
    User,
)
from trawl.domain.db import Base
from trawl.domain.projects.models import Project, ProjectMembership

__all__ = [
    "Base",
    "Invitation",
    "MachineClient",
    "OrgMembership",
    "Organization",
    "Project",
    "ProjectMembership",
    "User",
]
