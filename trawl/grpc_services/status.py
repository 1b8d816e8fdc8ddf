"""The one table between domain error codes and gRPC status codes, used both ways.

The domain code and the offending field also travel in trailing metadata, so the gateway
can rebuild a typed user error (`{field, message, code}`) without importing the domain."""

from __future__ import annotations

import grpc

CODE_KEY = "trawl-error-code"
FIELD_KEY = "trawl-error-field"

DOMAIN_TO_GRPC: dict[str, grpc.StatusCode] = {
    "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
    "PERMISSION_DENIED": grpc.StatusCode.PERMISSION_DENIED,
    "UNAUTHENTICATED": grpc.StatusCode.UNAUTHENTICATED,
    "INVALID_INPUT": grpc.StatusCode.INVALID_ARGUMENT,
    "CONFLICT": grpc.StatusCode.ALREADY_EXISTS,
    "PRECONDITION_FAILED": grpc.StatusCode.FAILED_PRECONDITION,
    "INTERNAL": grpc.StatusCode.INTERNAL,
    "UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
}

GRPC_TO_DOMAIN: dict[grpc.StatusCode, str] = {v: k for k, v in DOMAIN_TO_GRPC.items()}
GRPC_TO_DOMAIN[grpc.StatusCode.DEADLINE_EXCEEDED] = "UNAVAILABLE"
