"""The reports service as the stream job's Python workers see it: a report's record schema
and a run's stream totals, over a synchronous gRPC channel with a system token.

Flink's Python workers run operators on plain threads with no event loop, so this client is
synchronous throughout (grpc's blocking channel, httpx.Client); one instance is safe to share
between threads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import httpx

from trawl.config import Settings
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.grpc_services.gen.reports.v1 import reports_pb2_grpc
from trawl.tenants.system_token import REFRESH_MARGIN_SECONDS, client_credentials, token_url

DEADLINE_SECONDS = 5.0
# Nothing answered, or not in time: worth retrying later.
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})

Resp = TypeVar("Resp")


class ServicesError(Exception):
    """The service answered with an error (a refused or invalid call)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class ServicesUnavailable(ServicesError):
    """The service or the token issuer could not be reached, or did not answer in time."""


@dataclass(frozen=True, slots=True)
class RecordSchemaInfo:
    organization_id: str
    project_id: str
    # Changes whenever the schema or the key fields change: reload when it differs.
    version: str
    schema: dict[str, Any]
    key_fields: tuple[str, ...]


class SystemToken:
    """A client-credentials token with the system permission, cached until shortly before
    it expires (the synchronous twin of trawl.tenants.system_token)."""

    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self._settings = settings
        self._http = http
        self._token = ""
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if not self._token or time.monotonic() >= self._expires_at - REFRESH_MARGIN_SECONDS:
                self._fetch()
            return self._token

    def invalidate(self, token: str) -> None:
        """Drops the token a service refused (unless another thread already replaced it)."""
        with self._lock:
            if self._token == token:
                self._token = ""

    def _fetch(self) -> None:
        url = token_url(self._settings)
        try:
            response = self._http.post(url, json=client_credentials(self._settings))
        except httpx.HTTPError as error:
            raise ServicesUnavailable(
                f"system token request to {url} failed: {type(error).__name__}: {error}",
                "UNAVAILABLE",
            ) from error
        if response.status_code != 200:
            error_type = ServicesUnavailable if response.status_code >= 500 else ServicesError
            raise error_type(
                f"system token request to {url} failed: "
                f"{response.status_code} {response.text[:200]}",
                "UNAUTHENTICATED",
            )
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in", 3600))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ServicesError(
                f"system token request to {url} answered {response.status_code} without a "
                f"usable access_token ({type(error).__name__}: {error}): {response.text[:200]}",
                "UNAUTHENTICATED",
            ) from error
        if not isinstance(token, str) or not token:
            raise ServicesError(
                f"system token request to {url} answered {response.status_code} without a "
                f"usable access_token: {response.text[:200]}",
                "UNAUTHENTICATED",
            )
        self._token = token
        self._expires_at = time.monotonic() + lifetime


class StreamServices:
    """What the stream job asks of the platform. Close it when the operator closes."""

    def __init__(
        self,
        settings: Settings,
        *,
        deadline_seconds: float = DEADLINE_SECONDS,
        http: httpx.Client | None = None,
    ) -> None:
        self._deadline = deadline_seconds
        self._http = http or httpx.Client(timeout=deadline_seconds)
        self._owns_http = http is None
        self._token = SystemToken(settings, self._http)
        self._target = settings.reports_target
        self._channel = grpc.insecure_channel(self._target)
        # grpc_tools generates untyped service stubs.
        self._runs: Any = reports_pb2_grpc.RunsServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def record_schema(self, report_id: str) -> RecordSchemaInfo | None:
        """The report's record schema; None when the report does not exist (deleted)."""
        request = pb.GetRecordSchemaRequest(report_id=report_id)
        try:
            reply: pb.RecordSchema = self._call(self._runs.GetRecordSchema, request)
        except ServicesError as error:
            if error.code == grpc.StatusCode.NOT_FOUND.name:
                return None
            raise
        return RecordSchemaInfo(
            organization_id=reply.organization_id,
            project_id=reply.project_id,
            version=reply.version,
            schema=dict(json.loads(reply.record_schema_json)),
            key_fields=tuple(reply.record_key_fields),
        )

    def report_stream_stats(
        self,
        run_id: str,
        organization_id: str,
        accepted: int,
        rejected: int,
        duplicates: int,
        stored_bytes: int,
        complete_attempt: int,
    ) -> None:
        """Stores the run's totals (absolute values). An unknown run, or one of another
        organization than the records claim, raises ServicesError with code NOT_FOUND."""
        request = pb.ReportStreamStatsRequest(
            run_id=run_id,
            organization_id=organization_id,
            stats=pb.StreamStats(
                accepted=accepted,
                rejected=rejected,
                duplicates=duplicates,
                stored_bytes=stored_bytes,
                complete_attempt=complete_attempt,
            ),
        )
        self._call(self._runs.ReportStreamStats, request)

    def close(self) -> None:
        self._channel.close()
        if self._owns_http:
            self._http.close()

    def _call(self, method: Callable[..., Resp], request: Any) -> Resp:
        """One call with a deadline; a refused token is fetched again and the call retried
        once (the issuer may have rotated its key)."""
        for retry in (False, True):
            token = self._token.get()
            try:
                return method(
                    request,
                    metadata=(("authorization", f"Bearer {token}"),),
                    timeout=self._deadline,
                )
            except grpc.RpcError as error:
                code: grpc.StatusCode = error.code()
                if code == grpc.StatusCode.UNAUTHENTICATED and not retry:
                    self._token.invalidate(token)
                    continue
                raise self._error(code, str(error.details() or code.name)) from None
        raise AssertionError("unreachable")

    def _error(self, code: grpc.StatusCode, details: str) -> ServicesError:
        if code in TRANSIENT:
            return ServicesUnavailable(
                f"the reports service at {self._target} is unavailable ({code.name}): {details}",
                code.name,
            )
        return ServicesError(details, code.name)
