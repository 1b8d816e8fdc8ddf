"""The gateway's error vocabulary: service errors become either typed `errors` in a
mutation payload (what the user can fix) or GraphQL errors with `extensions.code`."""

from __future__ import annotations

from enum import Enum

import strawberry
from graphql import GraphQLError

from trawl.grpc_services.clients import ServiceError

# Codes a user can act on by changing their input: returned in the payload's `errors`.
USER_FIXABLE = {"INVALID_INPUT", "CONFLICT", "PRECONDITION_FAILED", "NOT_FOUND"}

# Inputs that carry a JSON document: in a dotted field (`parameters.fail_message`) the
# segments after one of these are the user's own keys and stay as given.
DOCUMENT_FIELDS = frozenset(
    {"parameters", "recordSchema", "parametersSchema", "delivery", "config", "secrets"}
)


@strawberry.enum
class UserErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    CONFLICT = "CONFLICT"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    NOT_FOUND = "NOT_FOUND"


@strawberry.type
class UserError:
    field: list[str] | None
    message: str
    code: UserErrorCode


class UserInputError(Exception):
    """Raised by the gateway's own input checks (global ids, cursors) before any call."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def user_input_error(field: str, message: str) -> UserInputError:
    return UserInputError(field, message)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def input_path(field: str) -> list[str]:
    """`name` → ["input", "name"]; `schedule.cron` → ["input", "schedule", "cron"]."""
    path = ["input"]
    in_document = False
    for segment in field.split("."):
        name = segment if in_document else _camel(segment)
        path.append(name)
        in_document = in_document or name in DOCUMENT_FIELDS
    return path


def graphql_error(error: ServiceError | UserInputError) -> GraphQLError:
    if isinstance(error, UserInputError):
        return GraphQLError(
            error.message, extensions={"code": "INVALID_INPUT", "field": error.field}
        )
    extensions: dict[str, object] = {"code": error.code}
    if error.field:
        extensions["field"] = _camel(error.field)
    return GraphQLError(error.message, extensions=extensions)


def payload_errors(error: ServiceError | UserInputError) -> list[UserError]:
    """For mutations: user-fixable failures become payload errors, the rest are raised."""
    if isinstance(error, UserInputError):
        return [
            UserError(
                field=input_path(error.field),
                message=error.message,
                code=UserErrorCode.INVALID_INPUT,
            )
        ]
    if error.code not in USER_FIXABLE:
        raise graphql_error(error)
    field = input_path(error.field) if error.field else None
    return [UserError(field=field, message=error.message, code=UserErrorCode(error.code))]
