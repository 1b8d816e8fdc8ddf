"""The one error vocabulary of the domain. Servicers map these to gRPC status codes and
the gateway maps those back to typed GraphQL errors; nothing else invents error kinds."""

from __future__ import annotations


class DomainError(Exception):
    """Base: `message` is shown to the user, `field` points at the input that caused it."""

    code = "INTERNAL"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """Also used for objects of another organization: existence is never revealed."""

    code = "NOT_FOUND"


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class InvalidInput(DomainError):
    code = "INVALID_INPUT"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class Conflict(DomainError):
    code = "CONFLICT"


class PreconditionFailed(DomainError):
    code = "PRECONDITION_FAILED"


class Unavailable(DomainError):
    """A store or service we depend on cannot be reached; the caller may try again."""

    code = "UNAVAILABLE"
