"""The one shape of a mutation resolver: do the work, and turn what the user can fix into the
payload's typed `errors`; anything else (permission, authentication, an outage) is raised as
a GraphQL error with `extensions.code`."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, TypeVar

from trawl.graphql.errors import UserError, UserInputError, payload_errors
from trawl.grpc_services.clients import ServiceError

PayloadT = TypeVar("PayloadT")
PayloadT_co = TypeVar("PayloadT_co", covariant=True)


class PayloadType(Protocol[PayloadT_co]):
    """A payload class: constructible with only its `errors`."""

    def __call__(self, *, errors: list[UserError]) -> PayloadT_co: ...


async def payload_or_errors(payload: PayloadType[PayloadT], work: Awaitable[PayloadT]) -> PayloadT:
    """Await `work` (a coroutine building the success payload, not yet started: decoding ids
    and parsing inputs inside it count as user errors too); on a user-fixable failure return
    `payload(errors=...)` instead."""
    try:
        return await work
    except (ServiceError, UserInputError) as error:
        return payload(errors=payload_errors(error))
