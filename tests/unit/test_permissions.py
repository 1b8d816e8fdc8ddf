"""The permission matrix, cell by cell, against a table written out here by hand.

The expected tables are deliberately not derived from ORG_MATRIX / PROJECT_MATRIX: a change
to the matrix must be made twice (there and here) and once more in docs/permissions.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from trawl.domain.accounts.models import OrgRole
from trawl.domain.errors import PermissionDenied
from trawl.domain.projects.models import ProjectRole
from trawl.tenants.permissions import (
    OrgAction,
    ProjectAction,
    effective_project_role,
    org_allows,
    project_allows,
    require_org,
    require_project,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"

ORG_ROLES = (OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MEMBER, OrgRole.BILLING)

# Columns: owner, admin, member, billing.
ORG_EXPECTED: dict[str, tuple[bool, bool, bool, bool]] = {
    "org:read": (True, True, True, True),
    "org:update": (True, True, False, False),
    "org:members:list": (True, True, True, True),
    "org:members:invite": (True, True, False, False),
    "org:members:remove": (True, True, False, False),
    "org:members:change_role": (True, True, False, False),
    "org:invitations:manage": (True, True, False, False),
    "org:owner:grant": (True, False, False, False),
    "org:projects:create": (True, True, True, False),
    "org:projects:see_all": (True, True, False, False),
    "org:projects:manage_all": (True, True, False, False),
    "org:audit:read": (True, True, False, False),
    "org:billing:manage": (True, False, False, True),
}

PROJECT_ROLES = (ProjectRole.MANAGER, ProjectRole.EDITOR, ProjectRole.VIEWER)

# Columns: manager, editor, viewer.
PROJECT_EXPECTED: dict[str, tuple[bool, bool, bool]] = {
    "project:read": (True, True, True),
    "project:update": (True, False, False),
    "project:delete": (True, False, False),
    "project:members:list": (True, True, True),
    "project:members:manage": (True, False, False),
    "project:reports:read": (True, True, True),
    "project:reports:write": (True, True, False),
    "project:runs:trigger": (True, True, False),
}

ORG_CELLS = [
    pytest.param(role, action, allowed, id=f"{role.value}-{action}")
    for action, row in ORG_EXPECTED.items()
    for role, allowed in zip(ORG_ROLES, row, strict=True)
]
PROJECT_CELLS = [
    pytest.param(role, action, allowed, id=f"{role.value}-{action}")
    for action, row in PROJECT_EXPECTED.items()
    for role, allowed in zip(PROJECT_ROLES, row, strict=True)
]


def test_expected_tables_cover_every_role_and_action() -> None:
    assert set(ORG_ROLES) == set(OrgRole)
    assert set(PROJECT_ROLES) == set(ProjectRole)
    assert set(ORG_EXPECTED) == {a.value for a in OrgAction}
    assert set(PROJECT_EXPECTED) == {a.value for a in ProjectAction}


@pytest.mark.parametrize(("role", "action", "allowed"), ORG_CELLS)
def test_org_matrix_cell(role: OrgRole, action: str, allowed: bool) -> None:
    assert org_allows(role, OrgAction(action)) is allowed
    if allowed:
        require_org(role, OrgAction(action))
    else:
        with pytest.raises(PermissionDenied):
            require_org(role, OrgAction(action))


@pytest.mark.parametrize(("role", "action", "allowed"), PROJECT_CELLS)
def test_project_matrix_cell(role: ProjectRole, action: str, allowed: bool) -> None:
    assert project_allows(role, ProjectAction(action)) is allowed
    if allowed:
        require_project(role, ProjectAction(action))
    else:
        with pytest.raises(PermissionDenied):
            require_project(role, ProjectAction(action))


@pytest.mark.parametrize("action", list(OrgAction))
def test_no_org_role_allows_no_org_action(action: OrgAction) -> None:
    assert org_allows(None, action) is False
    with pytest.raises(PermissionDenied):
        require_org(None, action)


@pytest.mark.parametrize("action", list(ProjectAction))
def test_no_project_role_allows_no_project_action(action: ProjectAction) -> None:
    assert project_allows(None, action) is False
    with pytest.raises(PermissionDenied):
        require_project(None, action)


EFFECTIVE_CASES = [
    # Org owners and admins manage every project, whatever their own project role.
    *[
        pytest.param(org, proj, ProjectRole.MANAGER, id=f"{org.value}-{proj}")
        for org in (OrgRole.OWNER, OrgRole.ADMIN)
        for proj in (None, *ProjectRole)
    ],
    # Billing members see no project, even with a (stale) project membership.
    *[
        pytest.param(OrgRole.BILLING, proj, None, id=f"billing-{proj}")
        for proj in (None, *ProjectRole)
    ],
    # Plain members act through their own project membership.
    *[
        pytest.param(OrgRole.MEMBER, proj, proj, id=f"member-{proj}")
        for proj in (None, *ProjectRole)
    ],
    # Outside the organization nothing counts, not even a project membership row.
    *[pytest.param(None, proj, None, id=f"none-{proj}") for proj in (None, *ProjectRole)],
]


@pytest.mark.parametrize(("org_role", "project_role", "expected"), EFFECTIVE_CASES)
def test_effective_project_role(
    org_role: OrgRole | None, project_role: ProjectRole | None, expected: ProjectRole | None
) -> None:
    assert effective_project_role(org_role, project_role) == expected


@pytest.mark.parametrize("action", [*OrgAction, *ProjectAction], ids=str)
def test_every_action_is_documented(action: OrgAction | ProjectAction) -> None:
    assert f"`{action.value}`" in DOC.read_text(encoding="utf-8")


def test_documented_tables_match_the_expected_tables() -> None:
    """Each documented row shows the same ✓ / — cells as the expected tables above."""
    rows = _doc_rows(DOC.read_text(encoding="utf-8"))
    for action, cells in [*ORG_EXPECTED.items(), *PROJECT_EXPECTED.items()]:
        assert rows.get(action) == tuple(cells), action


def _doc_rows(text: str) -> dict[str, tuple[bool, ...]]:
    rows: dict[str, tuple[bool, ...]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        marks: list[bool] = []
        for cell in cells[1:]:
            if cell not in ("✓", "—"):
                break  # the trailing description column
            marks.append(cell == "✓")
        if marks:
            rows[cells[0].strip("`")] = tuple(marks)
    return rows
