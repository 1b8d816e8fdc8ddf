"""Server interceptor: verify the forwarded token, bind the caller, map errors, log calls.

Services trust no one: every RPC (but the health service) needs a valid bearer token in
the `authorization` metadata, verified here exactly as the gateway verifies it."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import grpc

from trawl.domain.errors import DomainError
from trawl.grpc_services.status import CODE_KEY, DOMAIN_TO_GRPC, FIELD_KEY
from trawl.tenants.principal import Principal
from trawl.tenants.tokens import InvalidToken, TokenVerifier, bearer_from_header

log = logging.getLogger("trawl.grpc")

_CURRENT_PRINCIPAL: ContextVar[Principal | None] = ContextVar("trawl_principal", default=None)
UNAUTHENTICATED_METHODS = ("/grpc.health.v1.Health/",)


def current_principal() -> Principal:
    principal = _CURRENT_PRINCIPAL.get()
    if principal is None:  # only reachable if a servicer is mounted without the interceptor
        raise RuntimeError("no verified principal bound to this call")
    return principal


def _metadata_value(metadata: Any, key: str) -> str | None:
    for item in metadata or ():
        if item[0] == key:
            value = item[1]
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if (
            handler is None
            or handler.unary_unary is None
            or method.startswith(UNAUTHENTICATED_METHODS)
        ):
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap(
        self, method: str, behavior: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
    ) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            metadata = context.invocation_metadata()
            request_id = _metadata_value(metadata, "x-request-id") or "-"
            try:
                token = bearer_from_header(_metadata_value(metadata, "authorization"))
                principal = await self.verifier.verify(token)
            except InvalidToken as exc:
                log.info(
                    "rpc=%s status=UNAUTHENTICATED reason=%r request_id=%s",
                    method,
                    exc.reason,
                    request_id,
                )
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.reason)
            bound = _CURRENT_PRINCIPAL.set(principal)
            status = "OK"
            try:
                return await behavior(request, context)
            except DomainError as exc:
                status = exc.code
                context.set_trailing_metadata(((CODE_KEY, exc.code), (FIELD_KEY, exc.field or "")))
                await context.abort(DOMAIN_TO_GRPC[exc.code], exc.message)
            except grpc.aio.AbortError:
                raise
            except Exception:
                status = "INTERNAL"
                log.exception("rpc=%s failed request_id=%s", method, request_id)
                await context.abort(
                    grpc.StatusCode.INTERNAL, f"internal error (request {request_id})"
                )
            finally:
                _CURRENT_PRINCIPAL.reset(bound)
                log.info(
                    "rpc=%s status=%s sub=%s org=%s request_id=%s ms=%.1f",
                    method,
                    status,
                    principal.subject,
                    principal.org_id or "-",
                    request_id,
                    (time.perf_counter() - started) * 1000,
                )

        return wrapped
