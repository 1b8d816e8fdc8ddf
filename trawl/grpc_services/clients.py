"""Typed gRPC clients used by the gateway: forward the caller's token, set a deadline, turn
status codes back into `ServiceError`s. The gateway imports this, never trawl.domain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from trawl.config import Settings
from trawl.grpc_services.gen.accounts.v1 import accounts_pb2_grpc
from trawl.grpc_services.gen.audit.v1 import audit_pb2_grpc
from trawl.grpc_services.gen.datasets.v1 import datasets_pb2_grpc
from trawl.grpc_services.gen.projects.v1 import projects_pb2_grpc
from trawl.grpc_services.gen.reports.v1 import reports_pb2_grpc
from trawl.grpc_services.status import CODE_KEY, FIELD_KEY, GRPC_TO_DOMAIN

Resp = TypeVar("Resp")

# Counts calls per gateway request (read by the benchmark and the N+1 tests).
CALL_COUNTER: ContextVar[list[int] | None] = ContextVar("trawl_grpc_calls", default=None)


@dataclass(slots=True)
class ServiceError(Exception):
    code: str
    message: str
    field: str | None = None

    def __str__(self) -> str:
        return self.message


def _trailing(error: grpc.aio.AioRpcError, key: str) -> str | None:
    for item in error.trailing_metadata() or ():
        if item[0] == key:
            return str(item[1]) or None
    return None


def to_service_error(error: grpc.aio.AioRpcError) -> ServiceError:
    domain_code = _trailing(error, CODE_KEY)
    code = domain_code or GRPC_TO_DOMAIN.get(error.code(), "INTERNAL")
    message = error.details() or error.code().name
    # Transport-level (no domain code): the channel's message means nothing to a user.
    transport = error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    if transport and domain_code is None:
        message = f"a backend service is unavailable ({error.code().name.lower()}); try again"
    return ServiceError(code=code, message=message, field=_trailing(error, FIELD_KEY))


class _Client:
    def __init__(self, channel: grpc.aio.Channel, deadline: float) -> None:
        self.channel = channel
        self.deadline = deadline

    async def call(
        self,
        method: Callable[..., Awaitable[Resp]],
        request: Any,
        *,
        token: str,
        request_id: str = "",
    ) -> Resp:
        counter = CALL_COUNTER.get()
        if counter is not None:
            counter[0] += 1
        metadata = (("authorization", f"Bearer {token}"), ("x-request-id", request_id or "-"))
        try:
            return await method(request, metadata=metadata, timeout=self.deadline)
        except grpc.aio.AioRpcError as error:
            raise to_service_error(error) from None


class AccountsClient(_Client):
    def __init__(self, channel: grpc.aio.Channel, deadline: float) -> None:
        super().__init__(channel, deadline)
        self.stub = accounts_pb2_grpc.AccountsServiceStub(channel)


class ProjectsClient(_Client):
    def __init__(self, channel: grpc.aio.Channel, deadline: float) -> None:
        super().__init__(channel, deadline)
        self.stub = projects_pb2_grpc.ProjectsServiceStub(channel)


class ServiceCodesClient(_Client):
    def __init__(self, channel: grpc.aio.Channel, deadline: float) -> None:
        super().__init__(channel, deadline)
        self.stub = reports_pb2_grpc.ServiceCodesServiceStub(channel)


class ReportsClient(_Client):
    def __init__(self, channel: grpc.aio.Channel, deadline: float) -> None:
        super().__init__(channel, deadline)
        self.stub = reports_pb2_grpc.ReportsServiceStub(channel)


class RunsClient(_Client):
    def __init__(self, channel: grpc.aio.Channel, deadline: float) -> None:
        super().__init__(channel, deadline)
        self.stub = reports_pb2_grpc.RunsServiceStub(channel)


class AuditClient(_Client):
    def __init__(self, channel: grpc.aio.Channel, deadline: float) -> None:
        super().__init__(channel, deadline)
        self.stub = audit_pb2_grpc.AuditServiceStub(channel)


class DatasetsClient(_Client):
    def __init__(self, channel: grpc.aio.Channel, deadline: float) -> None:
        super().__init__(channel, deadline)
        self.stub = datasets_pb2_grpc.DatasetsServiceStub(channel)


class ServiceClients:
    """One channel per target, shared by every request of the gateway process."""

    def __init__(self, settings: Settings) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}
        deadline = settings.grpc_deadline_seconds
        self.accounts = AccountsClient(self._channel(settings.accounts_target), deadline)
        self.projects = ProjectsClient(self._channel(settings.projects_target), deadline)
        reports = self._channel(settings.reports_target)
        self.service_codes = ServiceCodesClient(reports, deadline)
        self.reports = ReportsClient(reports, deadline)
        self.runs = RunsClient(reports, deadline)
        self.audit = AuditClient(reports, deadline)
        self.datasets = DatasetsClient(reports, deadline)
        # An export writes the whole dataset before it answers.
        self.exports = DatasetsClient(reports, max(deadline, settings.export_call_seconds))

    def _channel(self, target: str) -> grpc.aio.Channel:
        if target not in self._channels:
            self._channels[target] = grpc.aio.insecure_channel(target)
        return self._channels[target]

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
