"""Authentication, limits and token expiry for GraphQL subscriptions over graphql-transport-ws.

A browser cannot set headers on a WebSocket, so the token travels in the `connection_init`
payload (`{"authorization": "Bearer <jwt>"}`, or `{"token": "<jwt>"}`) and goes through the
same `TokenVerifier` as HTTP. Close codes a client acts on:

- 4403 Forbidden: the token in connection_init is missing or invalid (before any data).
- 4401 Unauthorized: the token expired while connected; reconnect with a fresh token and
  resume (runLogs takes the last cursor it received).
- 4429: this user already has `live_max_connections_per_user` live connections to this
  gateway replica.
- 4503: the token could not be checked (the identity provider's keys are unreachable); retry.

Subscriptions per connection are capped at `live_max_subscriptions_per_connection`; one
more is refused with an error message on that operation, the others go on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError
from strawberry.fastapi.router import GraphQLRouter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from trawl.config import Settings
from trawl.graphql.context import Context
from trawl.tenants.tokens import InvalidToken, JwksUnavailable, TokenVerifier

log = logging.getLogger(__name__)

CLOSE_TOKEN_EXPIRED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY_CONNECTIONS = 4429
CLOSE_AUTH_UNAVAILABLE = 4503


def token_from_payload(payload: Mapping[str, Any]) -> str | None:
    for key in ("authorization", "Authorization"):
        value = payload.get(key)
        if isinstance(value, str) and value.lower().startswith("bearer "):
            return value[7:].strip() or None
    token = payload.get("token")
    return token if isinstance(token, str) and token else None


def close_reason(text: str) -> str:
    """A WebSocket close reason holds at most 123 bytes."""
    encoded = text.encode()[:123]
    return encoded.decode(errors="ignore")


class ConnectionRegistry:
    """Live connections per user on this gateway replica."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: Counter[str] = Counter()

    def acquire(self, subject: str) -> bool:
        if self._counts[subject] >= self.limit:
            return False
        self._counts[subject] += 1
        return True

    def release(self, subject: str) -> None:
        self._counts[subject] -= 1
        if self._counts[subject] <= 0:
            del self._counts[subject]

    def count(self, subject: str) -> int:
        return self._counts[subject]


class TrawlTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with our authentication, per-user and per-connection limits and
    a close at token expiry."""

    view: LiveGraphQLRouter
    _subject: str | None = None
    _expiry_task: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_init_received or self.connection_timed_out:
            await super().handle_connection_init(message)  # strawberry's own refusals
            return
        payload = message.get("payload") or {}
        token = token_from_payload(payload) if isinstance(payload, Mapping) else None
        if token is None:
            await self.websocket.close(
                CLOSE_FORBIDDEN,
                'Forbidden: no token; send {"authorization": "Bearer <token>"} in connection_init',
            )
            return
        try:
            principal = await self.view.verifier.verify(token)
        except InvalidToken as exc:
            await self.websocket.close(CLOSE_FORBIDDEN, close_reason(f"Forbidden: {exc.reason}"))
            return
        except JwksUnavailable as exc:
            await self.websocket.close(
                CLOSE_AUTH_UNAVAILABLE, close_reason(f"token not checked: {exc.reason}; retry")
            )
            return
        if not self.view.connections.acquire(principal.subject):
            limit = self.view.connections.limit
            await self.websocket.close(
                CLOSE_TOO_MANY_CONNECTIONS,
                close_reason(f"too many live connections: at most {limit} per user; close one"),
            )
            return
        self._subject = principal.subject
        self.context.principal = principal
        if principal.expires_at is not None:
            self._expiry_task = asyncio.create_task(self._close_at(principal.expires_at))
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.view.settings.live_max_subscriptions_per_connection
        if self.connection_acknowledged and len(self.operations) >= limit:
            error = GraphQLError(
                f"this connection already has {limit} subscriptions, the most it may hold; "
                "complete one or open another connection",
                extensions={"code": "RESOURCE_EXHAUSTED"},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)

    async def _close_at(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        log.info("live connection closed: token expired subject=%s", self._subject)
        with contextlib.suppress(Exception):
            await self.websocket.close(
                CLOSE_TOKEN_EXPIRED, "token expired: reconnect with a new token and resume"
            )

    async def shutdown(self) -> None:
        if self._expiry_task is not None:
            self._expiry_task.cancel()
        if self._subject is not None:
            self.view.connections.release(self._subject)
            self._subject = None
        await super().shutdown()


class LiveGraphQLRouter(GraphQLRouter[Context, None]):
    """The gateway's GraphQL router: HTTP as before, plus subscriptions over
    graphql-transport-ws with `TrawlTransportWSHandler`."""

    graphql_transport_ws_handler_class = TrawlTransportWSHandler

    def __init__(
        self, *args: Any, settings: Settings, verifier: TokenVerifier, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.verifier = verifier
        self.connections = ConnectionRegistry(settings.live_max_connections_per_user)
