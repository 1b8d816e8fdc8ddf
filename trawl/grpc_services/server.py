"""Hosts the gRPC services. Embedded: every service in one server; in production each
deployment registers only its own (same code, `services=` picks)."""

from __future__ import annotations

import logging

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from trawl.config import Settings
from trawl.domain.db import Database
from trawl.grpc_services.accounts import AccountsServicer
from trawl.grpc_services.audit import AuditServicer
from trawl.grpc_services.datasets import DatasetsServicer
from trawl.grpc_services.gen.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from trawl.grpc_services.gen.audit.v1 import audit_pb2, audit_pb2_grpc
from trawl.grpc_services.gen.datasets.v1 import datasets_pb2, datasets_pb2_grpc
from trawl.grpc_services.gen.projects.v1 import projects_pb2, projects_pb2_grpc
from trawl.grpc_services.gen.reports.v1 import reports_pb2, reports_pb2_grpc
from trawl.grpc_services.interceptors import AuthInterceptor
from trawl.grpc_services.projects import ProjectsServicer
from trawl.grpc_services.reports import ReportsServicer, ServiceCodesServicer
from trawl.grpc_services.runs import RunsServicer
from trawl.live.broker import Broadcaster
from trawl.tenants.tokens import TokenVerifier

log = logging.getLogger("trawl.grpc")

ALL_SERVICES = ("accounts", "projects", "reports")


async def start_grpc_server(
    settings: Settings,
    db: Database,
    verifier: TokenVerifier,
    *,
    address: str | None = None,
    services: tuple[str, ...] = ALL_SERVICES,
    live: Broadcaster | None = None,
) -> tuple[grpc.aio.Server, int]:
    """Start serving; returns the server and the bound port (0 in the address picks one)."""
    server = grpc.aio.server(interceptors=[AuthInterceptor(verifier)])
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names: list[str] = []
    if "accounts" in services:
        accounts_pb2_grpc.add_AccountsServiceServicer_to_server(
            AccountsServicer(db, settings), server
        )
        names.append(accounts_pb2.DESCRIPTOR.services_by_name["AccountsService"].full_name)
    if "projects" in services:
        projects_pb2_grpc.add_ProjectsServiceServicer_to_server(
            ProjectsServicer(db, settings), server
        )
        names.append(projects_pb2.DESCRIPTOR.services_by_name["ProjectsService"].full_name)
    if "reports" in services:
        reports_pb2_grpc.add_ServiceCodesServiceServicer_to_server(
            ServiceCodesServicer(db, settings), server
        )
        reports_pb2_grpc.add_ReportsServiceServicer_to_server(ReportsServicer(db, settings), server)
        reports_pb2_grpc.add_RunsServiceServicer_to_server(
            RunsServicer(db, settings, live=live), server
        )
        audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(db, settings), server)
        for name in ("ServiceCodesService", "ReportsService", "RunsService"):
            names.append(reports_pb2.DESCRIPTOR.services_by_name[name].full_name)
        names.append(audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name)
        datasets_pb2_grpc.add_DatasetsServiceServicer_to_server(
            DatasetsServicer(db, settings), server
        )
        names.append(datasets_pb2.DESCRIPTOR.services_by_name["DatasetsService"].full_name)
    port = server.add_insecure_port(address or settings.grpc_target)
    if port == 0:
        raise RuntimeError(f"cannot bind gRPC server to {address or settings.grpc_target}")
    await server.start()
    for name in [*names, ""]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("grpc_server=started port=%d services=%s", port, ",".join(services))
    return server, port
