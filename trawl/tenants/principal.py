"""Who is calling: built from a verified token only, never from request arguments."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller.

    `subject` is the token's `sub` (Auth0 user id, or `<client>@clients` for a machine).
    `org_id` is set when the token is bound to one organization (Auth0 Organizations'
    `org_id` or our namespaced claim); such a caller can reach that organization only.
    Org and project roles are not here: they come from the database on every request,
    so a role change takes effect on the next call.
    """

    subject: str
    email: str | None = None
    org_id: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    is_machine: bool = False
    token: str = field(default="", repr=False, compare=False)
    staff_permission: str = "trawl:staff"
    # The token's `exp` (Unix seconds): long-lived connections (subscriptions) end there.
    expires_at: float | None = field(default=None, compare=False)

    @property
    def is_staff(self) -> bool:
        """Platform staff are recognised by a platform permission in the token."""
        return self.staff_permission in self.permissions

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions
