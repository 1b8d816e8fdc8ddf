"""Per-request context: the verified caller, the shared gRPC clients, request-scoped
DataLoaders, and `call()`, the one way a resolver reaches a service."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from graphql import GraphQLError
from strawberry.fastapi import BaseContext

from trawl.config import Settings
from trawl.graphql.errors import graphql_error
from trawl.grpc_services.clients import ServiceClients, ServiceError, _Client
from trawl.tenants.principal import Principal

if TYPE_CHECKING:
    from trawl.graphql.loaders import Loaders
    from trawl.live.broker import Broadcaster

Resp = TypeVar("Resp")


class Context(BaseContext):
    def __init__(
        self,
        *,
        settings: Settings,
        clients: ServiceClients,
        principal: Principal | None,
        request_id: str | None = None,
        live: Broadcaster | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.clients = clients
        self.principal = principal
        self.live = live
        # Set by strawberry on WebSocket connections: the connection_init payload.
        self.connection_params: dict[str, Any] | None = None
        self.request_id = request_id or uuid.uuid4().hex
        self.grpc_calls = 0

    @property
    def token(self) -> str:
        if self.principal is None:
            raise GraphQLError("missing bearer token", extensions={"code": "UNAUTHENTICATED"})
        return self.principal.token

    @cached_property
    def loaders(self) -> Loaders:
        from trawl.graphql.loaders import Loaders

        return Loaders(self)

    async def call(
        self, client: _Client, method: Callable[..., Awaitable[Resp]], request: Any
    ) -> Resp:
        """Call a service with the caller's token; raises ServiceError on failure."""
        self.grpc_calls += 1
        return await client.call(method, request, token=self.token, request_id=self.request_id)

    async def query(
        self, client: _Client, method: Callable[..., Awaitable[Resp]], request: Any
    ) -> Resp:
        """As call(), but a service error becomes a GraphQL error with extensions.code."""
        try:
            return await self.call(client, method, request)
        except ServiceError as error:
            raise graphql_error(error) from None

    def page_args(self, first: int | None) -> int:
        return self.settings.page_size_default if first is None else first
