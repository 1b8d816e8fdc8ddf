"""The embedded platform: one supervised process group hosting the local issuer, the gRPC
services and the gateway over an SQLite database migrated to head, and (when asked) the
event path (outbox relay → EventBridge → SQS poller → handler), a Temporal worker and the
stream job (a child process), with moto, the Temporal dev server and SecantusDB as child
processes when no endpoints are configured. `trawl up` runs all of it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import grpc
import uvicorn

from trawl.config import Settings
from trawl.crawlers.kinesis import ensure_stream
from trawl.crawlers.run_logs import ensure_run_logs_table
from trawl.demo.fixture_site import RunningSite, serve_fixture_site
from trawl.demo.seed import DEMO_EMAIL, seed_demo
from trawl.devservers import (
    ChildServer,
    ChildStartError,
    start_moto,
    start_secantus,
    start_stream_job,
    start_temporal,
)
from trawl.domain.db import Database
from trawl.domain.migrate import upgrade_to_head_async
from trawl.domain.reports.seed import ensure_builtin_service_codes
from trawl.events.audit import AuditLog
from trawl.events.bus import ensure_event_routing
from trawl.events.poller import SqsPoller
from trawl.events.relay import OutboxRelay
from trawl.graphql.app import create_gateway_app
from trawl.grpc_services.server import start_grpc_server
from trawl.live.broker import Broadcaster, create_broadcaster
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
    # The event path (relay, poller, handler) and a Temporal worker; off for the quick
    # GraphQL tests, on for `trawl up` and the end-to-end tests.
    with_events: bool = False
    with_worker: bool = False
    # The stream job (Kinesis → MongoDB and S3), with SecantusDB when no MongoDB is configured.
    with_stream: bool = False
    _http: list[tuple[uvicorn.Server, asyncio.Task[None]]] = field(default_factory=list)
    _children: list[ChildServer] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _closers: list[Any] = field(default_factory=list)
    live: Broadcaster | None = None

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
        await ensure_builtin_service_codes(self.db)
        self.verifier = TokenVerifier(settings)
        # One broadcaster for the services (publishers) and the gateway (subscriptions): in
        # process by default, Redis when several gateways share the services.
        self.live = create_broadcaster(settings)
        await self.live.start()
        self.grpc_server, self.grpc_port = await start_grpc_server(
            settings, self.db, self.verifier, live=self.live
        )
        gateway = create_gateway_app(settings, TokenVerifier(settings), live=self.live)
        await self._start_http(gateway, settings.gateway_host, settings.gateway_port, "gateway")
        if self.with_events or self.with_worker or self.with_stream:
            await self._start_background()

    async def _start_background(self) -> None:
        settings = self.settings
        if not settings.aws_endpoint_url and settings.aws_use_embedded:
            self._children.append(await start_moto(settings))
        # Where crawlers' records and log lines go; created before any crawler can start.
        await asyncio.to_thread(ensure_stream, settings)
        await asyncio.to_thread(ensure_run_logs_table, settings)
        if self.with_stream:
            if not settings.mongo_uri and settings.mongo_use_embedded:
                self._children.append(await start_secantus(settings))
            self._children.append(await start_stream_job(settings))
        if self.with_events or self.with_worker:
            await self._start_workflows()
        self._spawn(self._watch_children(), "child-watch")

    async def _start_workflows(self) -> None:
        from trawl.workflows.handler import EventHandler
        from trawl.workflows.worker import RunWorker, connect_temporal

        settings = self.settings
        if not settings.temporal_address:
            self._children.append(await start_temporal(settings))
        temporal = await connect_temporal(settings)
        if self.with_events:
            assert self.db is not None
            queue_url = await ensure_event_routing(settings)
            audit = AuditLog(settings)
            await audit.ensure_table()
            relay = OutboxRelay(self.db, settings)
            poller = SqsPoller(settings, queue_url, EventHandler(temporal, settings, audit).handle)
            self._spawn(relay.run(self._stop), "outbox-relay")
            self._spawn(poller.run(self._stop), "sqs-poller")
        if self.with_worker:
            worker = RunWorker(settings, temporal)
            self._closers.append(worker.close)
            self._spawn(worker.run_until(self._stop), "temporal-worker")

    async def _watch_children(self) -> None:
        """Says once when a child process ends while the platform runs (its log says why)."""
        reported: set[str] = set()
        while not self._stop.is_set():
            for child in self._children:
                if child.name not in reported and child.exited():
                    reported.add(child.name)
                    log.error(
                        "child=exited name=%s log=%s", child.name, child.own_log or child.log_path
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=1.0)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    async def _start_http(self, app: object, host: str, port: int, name: str) -> None:
        server = _uvicorn(app, host, port)
        self._http.append((server, await _serve_until_started(server, name)))

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=30)
            except Exception:
                log.exception("background task %s failed", task.get_name())
        self._tasks.clear()
        for close in self._closers:
            await close()
        self._closers.clear()
        for server, task in reversed(self._http):
            server.should_exit = True
            await task
        self._http.clear()
        if self.grpc_server is not None:
            await self.grpc_server.stop(grace=5)
        if self.live is not None:
            await self.live.close()
            self.live = None
        if self.verifier is not None:
            await self.verifier.aclose()
        if self.db is not None:
            await self.db.dispose()
        for child in reversed(self._children):
            await child.stop()
        self._children.clear()


async def _start_demo(settings: Settings) -> RunningSite | None:
    """The fixture shop and a demo report on it (embedded only; TRAWL_DEMO_SITE_PORT=0
    turns it off)."""
    if settings.demo_site_port <= 0 or settings.auth0_domain:
        return None
    try:
        site = await asyncio.to_thread(serve_fixture_site, settings.demo_site_port)
    except (OSError, RuntimeError) as error:
        print(
            f"  demo shop not served ({error}); set TRAWL_DEMO_SITE_PORT to a free port, "
            "or 0 to turn the demo off",
            flush=True,
        )
        return None
    try:
        seeded = await seed_demo(settings, site.url)
    except Exception:
        log.exception("demo seeding failed; the platform runs without the demo report")
        return site
    print(f"  demo shop: {site.url}  (demo user: {DEMO_EMAIL})", flush=True)
    if seeded is not None:
        print(
            f"  demo report {seeded.report_id} on the shop; its first run {seeded.run_id} is "
            "going. As the demo user: .venv/bin/trawl token --user demo@trawl.local",
            flush=True,
        )
    return site


async def run_until_signalled(settings: Settings) -> None:
    platform = EmbeddedPlatform(settings, with_events=True, with_worker=True, with_stream=True)
    try:
        await platform.start()
    except BaseException as error:
        await platform.stop()  # the children started so far must not outlive us
        if isinstance(error, ChildStartError):
            print(f"trawl up: {error}", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        raise
    url = f"http://{settings.gateway_host}:{settings.gateway_port}/graphql"
    print(f"Trawl is up.\n  GraphQL (GraphiQL in a browser): {url}", flush=True)
    print(f"  gRPC services: {settings.grpc_host}:{platform.grpc_port}", flush=True)
    print(f"  data: {settings.data_dir.resolve()}", flush=True)
    mongo = "" if settings.mongo_uri or not settings.mongo_use_embedded else " (SecantusDB)"
    print(f"  records: {settings.mongo_url}{mongo}", flush=True)
    print(f"  stream job: {(settings.stream_dir / 'status.json').resolve()}", flush=True)
    print(
        "  token: .venv/bin/trawl token --user alice@example.com  (add --org <id> to bind one)",
        flush=True,
    )
    site = await _start_demo(settings)
    print("  Ctrl-C stops everything.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("stopping...", flush=True)
    if site is not None:
        await asyncio.to_thread(site.stop)
    await platform.stop()
