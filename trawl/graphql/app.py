"""The gateway app: FastAPI + strawberry. Verifies the bearer token on every request before
any resolver runs; a bad token is HTTP 401 with a GraphQL-shaped body saying which check
failed. GraphiQL is served to browsers (GET without a query) without a token."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from trawl.config import Settings
from trawl.graphql.context import Context
from trawl.graphql.live.transport import LiveGraphQLRouter
from trawl.graphql.schema import build_schema
from trawl.grpc_services.clients import ServiceClients
from trawl.live.broker import Broadcaster, create_broadcaster
from trawl.tenants.tokens import InvalidToken, JwksUnavailable, TokenVerifier, bearer_from_header


class _AuthFailed(Exception):
    def __init__(self, reason: str, status: int) -> None:
        self.reason = reason
        self.status = status


def create_gateway_app(
    settings: Settings,
    verifier: TokenVerifier,
    clients: ServiceClients | None = None,
    live: Broadcaster | None = None,
) -> FastAPI:
    """`live` carries run updates to subscriptions: the process's broadcaster when one
    process hosts the services too (trawl up), else one made from settings (Redis when
    `redis_url` is set)."""
    service_clients = clients or ServiceClients(settings)
    broadcaster = live or create_broadcaster(settings)
    owns_broadcaster = live is None

    async def get_context(request: HTTPConnection) -> Context:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        if request.scope["type"] == "websocket":
            # Authenticated at connection_init (trawl.graphql.live.transport).
            return Context(
                settings=settings,
                clients=service_clients,
                principal=None,
                request_id=request_id,
                live=broadcaster,
            )
        assert isinstance(request, Request)
        header = request.headers.get("authorization")
        if header is None and _is_graphiql_page(request):
            return Context(settings=settings, clients=service_clients, principal=None)
        try:
            principal = await verifier.verify(bearer_from_header(header))
        except JwksUnavailable as exc:
            raise _AuthFailed(exc.reason, 503) from None
        except InvalidToken as exc:
            raise _AuthFailed(exc.reason, 401) from None
        return Context(
            settings=settings,
            clients=service_clients,
            principal=principal,
            request_id=request_id,
            live=broadcaster,
        )

    router = LiveGraphQLRouter(
        build_schema(settings),
        context_getter=get_context,
        graphql_ide="graphiql",
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        settings=settings,
        verifier=verifier,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if owns_broadcaster:
            await broadcaster.start()
        yield
        if owns_broadcaster:
            await broadcaster.close()
        if clients is None:
            await service_clients.close()

    app = FastAPI(title="Trawl GraphQL gateway", lifespan=lifespan)
    app.include_router(router, prefix="/graphql")

    @app.exception_handler(_AuthFailed)
    async def _auth_failed(_request: Request, exc: _AuthFailed) -> JSONResponse:
        code = "UNAUTHENTICATED" if exc.status == 401 else "UNAVAILABLE"
        return JSONResponse(
            status_code=exc.status,
            content={
                "data": None,
                "errors": [{"message": exc.reason, "extensions": {"code": code}}],
            },
            headers={"WWW-Authenticate": _www_authenticate(exc.reason)}
            if exc.status == 401
            else None,
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _is_graphiql_page(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


def _www_authenticate(reason: str) -> str:
    safe = reason.replace('"', "'")
    return f'Bearer error="invalid_token", error_description="{safe}"'
