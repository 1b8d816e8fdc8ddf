"""The permission matrix, written once: (org role, action) and (project role, action).

docs/permissions.md renders this table; tests/unit/test_permissions.py checks every cell.
The domain services call `require_org` / `require_project`; nothing else decides access."""

from __future__ import annotations

from enum import StrEnum

from trawl.domain.accounts.models import OrgRole
from trawl.domain.errors import PermissionDenied
from trawl.domain.projects.models import ProjectRole


class OrgAction(StrEnum):
    READ = "org:read"
    UPDATE = "org:update"
    LIST_MEMBERS = "org:members:list"
    INVITE_MEMBER = "org:members:invite"
    REMOVE_MEMBER = "org:members:remove"
    CHANGE_MEMBER_ROLE = "org:members:change_role"
    MANAGE_INVITATIONS = "org:invitations:manage"
    GRANT_OWNER = "org:owner:grant"
    CREATE_PROJECT = "org:projects:create"
    SEE_ALL_PROJECTS = "org:projects:see_all"
    MANAGE_ALL_PROJECTS = "org:projects:manage_all"
    READ_AUDIT_LOG = "org:audit:read"
    MANAGE_BILLING = "org:billing:manage"


class ProjectAction(StrEnum):
    READ = "project:read"
    UPDATE = "project:update"
    DELETE = "project:delete"
    LIST_MEMBERS = "project:members:list"
    MANAGE_MEMBERS = "project:members:manage"
    READ_REPORTS = "project:reports:read"
    WRITE_REPORTS = "project:reports:write"
    TRIGGER_RUNS = "project:runs:trigger"


_ALL_ORG_ROLES = frozenset(OrgRole)
_ADMINS = frozenset({OrgRole.OWNER, OrgRole.ADMIN})

ORG_MATRIX: dict[OrgAction, frozenset[OrgRole]] = {
    OrgAction.READ: _ALL_ORG_ROLES,
    OrgAction.UPDATE: _ADMINS,
    OrgAction.LIST_MEMBERS: _ALL_ORG_ROLES,
    OrgAction.INVITE_MEMBER: _ADMINS,
    OrgAction.REMOVE_MEMBER: _ADMINS,
    OrgAction.CHANGE_MEMBER_ROLE: _ADMINS,
    OrgAction.MANAGE_INVITATIONS: _ADMINS,
    OrgAction.GRANT_OWNER: frozenset({OrgRole.OWNER}),
    OrgAction.CREATE_PROJECT: frozenset({OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MEMBER}),
    OrgAction.SEE_ALL_PROJECTS: _ADMINS,
    OrgAction.MANAGE_ALL_PROJECTS: _ADMINS,
    OrgAction.READ_AUDIT_LOG: _ADMINS,
    OrgAction.MANAGE_BILLING: frozenset({OrgRole.OWNER, OrgRole.BILLING}),
}

_ALL_PROJECT_ROLES = frozenset(ProjectRole)
_WRITERS = frozenset({ProjectRole.MANAGER, ProjectRole.EDITOR})
_MANAGER = frozenset({ProjectRole.MANAGER})

PROJECT_MATRIX: dict[ProjectAction, frozenset[ProjectRole]] = {
    ProjectAction.READ: _ALL_PROJECT_ROLES,
    ProjectAction.UPDATE: _MANAGER,
    ProjectAction.DELETE: _MANAGER,
    ProjectAction.LIST_MEMBERS: _ALL_PROJECT_ROLES,
    ProjectAction.MANAGE_MEMBERS: _MANAGER,
    ProjectAction.READ_REPORTS: _ALL_PROJECT_ROLES,
    ProjectAction.WRITE_REPORTS: _WRITERS,
    ProjectAction.TRIGGER_RUNS: _WRITERS,
}


def org_allows(role: OrgRole | None, action: OrgAction) -> bool:
    return role is not None and role in ORG_MATRIX[action]


def project_allows(role: ProjectRole | None, action: ProjectAction) -> bool:
    return role is not None and role in PROJECT_MATRIX[action]


def effective_project_role(
    org_role: OrgRole | None, project_role: ProjectRole | None
) -> ProjectRole | None:
    """Org owners and admins manage every project; everyone else has their project role."""
    if org_allows(org_role, OrgAction.MANAGE_ALL_PROJECTS):
        return ProjectRole.MANAGER
    if org_role is None or org_role == OrgRole.BILLING:
        return None
    return project_role


def require_org(role: OrgRole | None, action: OrgAction) -> None:
    if not org_allows(role, action):
        shown = role.value if role else "no role"
        raise PermissionDenied(f"your organization role ({shown}) does not allow {action.value}")


def require_project(role: ProjectRole | None, action: ProjectAction) -> None:
    if not project_allows(role, action):
        shown = role.value if role else "no role"
        raise PermissionDenied(f"your project role ({shown}) does not allow {action.value}")
