"""The embedded platform: one supervised process group hosting the local issuer, the gRPC
services and the gateway over an SQLite database migrated to head. `trawl up` runs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field

import grpc
import uvicorn

from trawl.config import Settings
from trawl.domain.db import Database
from trawl.domain.migrate import upgrade_to_head_async
from trawl.graphql.app import create_gateway_app
from trawl.grpc_services.server import start_grpc_server
from trawl.tenants.issuer import LocalIssuer, create_issuer_app
from trawl.tenants.tokens import TokenVerifier

log = logging.getLogger("trawl.embedded")


def _uvicorn(app: object, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    # The platform owns SIGINT/SIGTERM and stops servers in order; uvicorn must not grab them.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    return server


async def _serve_until_started(server: uvicorn.Server, name: str) -> asyncio.Task[None]:
    task = asyncio.create_task(server.serve(), name=name)
    while not server.started:
        if task.done():
            task.result()  # raises the bind error, if any
            raise RuntimeError(f"{name} stopped during start-up")
        await asyncio.sleep(0.02)
    return task


@dataclass
class EmbeddedPlatform:
    """Starts the pieces in dependency order and stops them in reverse."""

    settings: Settings
    db: Database | None = None
    grpc_server: grpc.aio.Server | None = None
    grpc_port: int = 0
    verifier: TokenVerifier | None = None
    _http: list[tuple[uvicorn.Server, asyncio.Task[None]]] = field(default_factory=list)

    async def start(self, *, migrate: bool = True) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if migrate:
            await upgrade_to_head_async(settings.database_url)
        if not settings.auth0_domain:
            issuer = LocalIssuer(settings)
            await self._start_http(
                create_issuer_app(issuer), settings.issuer_host, settings.issuer_port, "issuer"
            )
        self.db = Database.from_url(settings.database_url, echo=settings.db_echo)
        self.verifier = TokenVerifier(settings)
        self.grpc_server, self.grpc_port = await start_grpc_server(settings, self.db, self.verifier)
        gateway = create_gateway_app(settings, TokenVerifier(settings))
        await self._start_http(gateway, settings.gateway_host, settings.gateway_port, "gateway")

    async def _start_http(self, app: object, host: str, port: int, name: str) -> None:
        server = _uvicorn(app, host, port)
        self._http.append((server, await _serve_until_started(server, name)))

    async def stop(self) -> None:
        for server, task in reversed(self._http):
            server.should_exit = True
            await task
        self._http.clear()
        if self.grpc_server is not None:
            await self.grpc_server.stop(grace=5)
        if self.verifier is not None:
            await self.verifier.aclose()
        if self.db is not None:
            await self.db.dispose()


async def run_until_signalled(settings: Settings) -> None:
    platform = EmbeddedPlatform(settings)
    await platform.start()
    url = f"http://{settings.gateway_host}:{settings.gateway_port}/graphql"
    print(f"Trawl is up.\n  GraphQL (GraphiQL in a browser): {url}", flush=True)
    print(f"  gRPC services: {settings.grpc_host}:{platform.grpc_port}", flush=True)
    print(f"  data: {settings.data_dir.resolve()}", flush=True)
    print(
        "  token: .venv/bin/trawl token --user alice@example.com  (add --org <id> to bind one)",
        flush=True,
    )
    print("  Ctrl-C stops everything.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("stopping...", flush=True)
    await platform.stop()
