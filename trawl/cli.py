"""`trawl up | gateway | worker | stream | token | schema | migrate`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import logging
import sys

from trawl.config import Settings, get_settings


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )


def _org_id(value: str) -> str:
    """Accept a raw id or the GraphQL global id of an organization."""
    try:
        decoded = base64.urlsafe_b64decode(value.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return value
    return decoded.split(":", 1)[1] if decoded.startswith("Organization:") else value


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from trawl.embedded import run_until_signalled

    _configure_logging(settings)
    asyncio.run(run_until_signalled(settings))
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """A Temporal worker on its own (production, and the worker-crash tests)."""
    import os
    import signal

    from trawl.workflows.worker import run_worker

    _configure_logging(settings)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(serve())
    sys.stdout.flush()
    sys.stderr.flush()
    # temporalio can crash at interpreter exit (sdk-python#300): leave without finalizers.
    os._exit(0)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from trawl.tenants.issuer import LocalIssuer

    if settings.auth0_domain:
        print(
            "trawl token mints tokens for the local issuer only; TRAWL_AUTH0_DOMAIN is set",
            file=sys.stderr,
        )
        return 2
    issuer = LocalIssuer(settings)
    token = issuer.mint(
        email=None if args.machine else args.user,
        subject=f"{args.machine}@clients" if args.machine else None,
        org_id=_org_id(args.org) if args.org else None,
        permissions=args.permission or [],
        machine=bool(args.machine),
        ttl_seconds=args.ttl,
    )
    print(token)
    return 0


def cmd_gateway(args: argparse.Namespace, settings: Settings) -> int:
    """The GraphQL gateway alone, in front of the services at settings.grpc_* (production:
    several replicas behind a load balancer, sharing live updates through Redis)."""
    import uvicorn

    from trawl.graphql.app import create_gateway_app
    from trawl.tenants.tokens import TokenVerifier

    _configure_logging(settings)

    async def serve() -> None:
        # Built inside the loop: the gRPC channels bind to the loop that creates them.
        app = create_gateway_app(settings, TokenVerifier(settings))
        config = uvicorn.Config(
            app, host=settings.gateway_host, port=settings.gateway_port, log_level="warning"
        )
        await uvicorn.Server(config).serve()

    asyncio.run(serve())
    return 0


def cmd_stream(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "status":
        import json

        from trawl.stream.status import gather, render

        report = gather(settings)
        print(json.dumps(report, indent=2, default=str) if args.json else render(report))
        return 0
    from trawl.stream.driver import run_stream_job

    return run_stream_job(settings)


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from trawl.graphql.schema import schema_sdl

    sys.stdout.write(schema_sdl())
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from trawl.domain.migrate import upgrade_to_head

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.database_url)
    print(f"migrated {settings.database_url.split('@')[-1]} to head")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trawl", description="Trawl platform commands")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "up", help="start the embedded platform (issuer, services, gateway)"
    ).set_defaults(func=cmd_up)
    sub.add_parser("worker", help="run a Temporal worker (runs and schedules)").set_defaults(
        func=cmd_worker
    )
    token = sub.add_parser("token", help="print a bearer token from the local issuer")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="email of the user the token is for")
    who.add_argument("--machine", help="client id of a machine (client-credentials) token")
    token.add_argument("--org", help="bind the token to this organization (id or global id)")
    token.add_argument(
        "--permission", action="append", help="platform permission, e.g. trawl:staff"
    )
    token.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)
    sub.add_parser(
        "gateway", help="run the GraphQL gateway alone (the services run elsewhere)"
    ).set_defaults(func=cmd_gateway)
    stream = sub.add_parser(
        "stream", help="run the stream job (Kinesis to MongoDB and S3) or show its status"
    )
    stream.add_argument("action", nargs="?", choices=["run", "status"], default="run")
    stream.add_argument("--json", action="store_true", help="status as JSON")
    stream.set_defaults(func=cmd_stream)
    sub.add_parser("schema", help="print the GraphQL schema (SDL)").set_defaults(func=cmd_schema)
    sub.add_parser("migrate", help="migrate the database to head").set_defaults(func=cmd_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args, get_settings())
    return code


if __name__ == "__main__":
    raise SystemExit(main())
