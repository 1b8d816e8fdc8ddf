"""A running platform for feature tests: the local issuer, the gRPC services and the
gateway on free loopback ports, over a migrated SQLite file or a fresh MariaDB database."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from trawl.config import Settings
from trawl.embedded import EmbeddedPlatform
from trawl.tenants.issuer import LocalIssuer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def platform_settings(data_dir: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "db_url": db_url,
        "gateway_port": free_port(),
        "issuer_port": free_port(),
        "grpc_port": free_port(),
        "graphql_debug_stats": True,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class RunningPlatform:
    settings: Settings
    platform: EmbeddedPlatform
    issuer: LocalIssuer
    backend: str

    @property
    def graphql_url(self) -> str:
        return f"http://{self.settings.gateway_host}:{self.settings.gateway_port}/graphql"

    @property
    def grpc_target(self) -> str:
        return self.settings.grpc_target

    def token(self, email: str, **claims: object) -> str:
        return self.issuer.mint(email=email, **claims)  # type: ignore[arg-type]


async def start_platform(settings: Settings, backend: str) -> RunningPlatform:
    platform = EmbeddedPlatform(settings)
    await platform.start()
    return RunningPlatform(
        settings=settings, platform=platform, issuer=LocalIssuer(settings), backend=backend
    )
