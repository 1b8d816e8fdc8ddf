"""Token verification against the local issuer over real HTTP: every rejection names its check."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import socket
import stat
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from trawl.config import Settings
from trawl.tenants.issuer import LocalIssuer, create_issuer_app
from trawl.tenants.tokens import InvalidToken, JwksCache, TokenVerifier, bearer_from_header

JWKS_PATH = "/.well-known/jwks.json"


class _InTestServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Leave pytest's own signal handling (Ctrl-C) alone.
        yield


class _RequestCounter:
    """ASGI wrapper counting requests per path, to see what the verifier asks the issuer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths[scope["path"]] += 1
        await self.app(scope, receive, send)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class RunningIssuer:
    settings: Settings
    issuer: LocalIssuer
    requests: Counter[str]


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[RunningIssuer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    settings = Settings(issuer_port=sock.getsockname()[1], data_dir=tmp_path)
    issuer = LocalIssuer(settings)
    app = _RequestCounter(create_issuer_app(issuer))
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = _InTestServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "issuer server failed to start"
        await asyncio.sleep(0.01)
    yield RunningIssuer(settings, issuer, app.paths)
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def verifier(running: RunningIssuer, clock: FakeClock) -> AsyncIterator[TokenVerifier]:
    verifier = TokenVerifier(running.settings, JwksCache(running.settings, clock=clock))
    yield verifier
    await verifier.aclose()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_parts(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def _reason(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    return caught.value.reason


async def test_user_token_yields_principal_with_identity_org_and_permissions(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    token = running.issuer.mint(
        email="ada@example.com", org_id="org_1", permissions=["trawl:staff", "reports:read"]
    )

    principal = await verifier.verify(token)

    expected_sub = "auth0|" + hashlib.sha256(b"ada@example.com").hexdigest()[:24]
    assert principal.subject == expected_sub
    assert principal.email == "ada@example.com"
    assert principal.org_id == "org_1"
    assert principal.permissions == {"trawl:staff", "reports:read"}
    assert principal.is_staff
    assert not principal.is_machine
    assert principal.token == token
    assert _claims_of(token)["aud"] == [
        running.settings.auth0_audience,
        f"{running.settings.issuer_url}userinfo",
    ]


async def test_user_without_staff_permission_is_not_staff(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    principal = await verifier.verify(running.issuer.mint(subject="auth0|u1", email="b@x.io"))
    assert principal.subject == "auth0|u1"
    assert principal.org_id is None
    assert not principal.is_staff


async def test_auth0_organizations_org_id_and_plain_email_claims_are_read(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    token = running.issuer.mint(
        subject="auth0|u2", extra_claims={"org_id": "org_auth0", "email": "c@x.io"}
    )
    principal = await verifier.verify(token)
    assert (principal.org_id, principal.email) == ("org_auth0", "c@x.io")


async def test_conflicting_org_claims_are_rejected(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    token = running.issuer.mint(email="d@x.io", org_id="org_a", extra_claims={"org_id": "org_b"})
    reason = await _reason(verifier, token)
    assert reason == "conflicting organization claims 'https://trawl.dev/org_id' and 'org_id'"


async def test_machine_token_from_client_credentials_endpoint(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    async with httpx.AsyncClient(base_url=running.settings.issuer_url) as client:
        reply = await client.post(
            "oauth/token",
            data={"grant_type": "client_credentials", "client_id": "ci", "scope": "runs:start"},
        )
    assert reply.status_code == 200
    body = reply.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == running.settings.issuer_token_ttl_seconds

    principal = await verifier.verify(body["access_token"])

    assert principal.is_machine
    assert principal.subject == "ci@clients"
    assert principal.permissions == {"runs:start"}
    assert principal.email is None


async def test_token_endpoint_rejects_other_grant_types(running: RunningIssuer) -> None:
    async with httpx.AsyncClient(base_url=running.settings.issuer_url) as client:
        reply = await client.post("oauth/token", json={"grant_type": "password", "client_id": "c"})
    assert reply.status_code == 400
    assert reply.json()["error"] == "unsupported_grant_type"


async def test_dev_token_endpoint_gives_a_user_token(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    async with httpx.AsyncClient(base_url=running.settings.issuer_url) as client:
        reply = await client.post(
            "dev/token", json={"email": "e@x.io", "org_id": "org_9", "permissions": ["p:1"]}
        )
        config = (await client.get(".well-known/openid-configuration")).json()
    principal = await verifier.verify(reply.json()["access_token"])
    assert principal.email == "e@x.io"
    assert principal.org_id == "org_9"
    assert principal.permissions == {"p:1"}
    assert config["issuer"] == running.settings.issuer_url
    assert config["jwks_uri"] == running.settings.jwks_url


async def test_expired_token_is_rejected(running: RunningIssuer, verifier: TokenVerifier) -> None:
    token = running.issuer.mint(email="a@x.io", ttl_seconds=-120)
    assert await _reason(verifier, token) == "token expired"


async def test_token_expired_within_leeway_is_accepted(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    token = running.issuer.mint(email="a@x.io", ttl_seconds=-5)
    assert (await verifier.verify(token)).email == "a@x.io"


async def test_token_without_exp_is_rejected(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    token = running.issuer.mint(email="a@x.io", extra_claims={"exp": None})
    assert await _reason(verifier, token) == "missing required claim 'exp'"


async def test_token_not_yet_valid_is_rejected(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    nbf = _claims_of(running.issuer.mint(email="a@x.io"))["iat"] + 300
    token = running.issuer.mint(email="a@x.io", extra_claims={"nbf": nbf})
    assert await _reason(verifier, token) == "token not yet valid (nbf is in the future)"


async def test_wrong_audience_is_rejected(running: RunningIssuer, verifier: TokenVerifier) -> None:
    token = running.issuer.mint(email="a@x.io", audience="https://other.api")
    reason = await _reason(verifier, token)
    assert reason == "wrong audience: expected https://api.trawl.local"


async def test_wrong_issuer_is_rejected(running: RunningIssuer, verifier: TokenVerifier) -> None:
    token = running.issuer.mint(email="a@x.io", extra_claims={"iss": "https://evil.example/"})
    reason = await _reason(verifier, token)
    assert reason == f"wrong issuer: expected {running.settings.issuer_url}"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_rejected(
    running: RunningIssuer, verifier: TokenVerifier, alg: str
) -> None:
    claims = _claims_of(running.issuer.mint(email="a@x.io", permissions=["trawl:staff"]))
    token = _unsigned_parts({"alg": alg, "typ": "JWT", "kid": running.issuer.kid}, claims) + "."
    reason = await _reason(verifier, token)
    assert reason == "algorithm 'none' is not accepted; tokens must be RS256"
    assert running.requests[JWKS_PATH] == 0


async def test_hs256_signed_with_public_key_pem_is_rejected(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    private_key = serialization.load_pem_private_key(
        running.settings.issuer_key_path.read_bytes(), password=None
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = _claims_of(running.issuer.mint(email="a@x.io"))
    signing_input = _unsigned_parts({"alg": "HS256", "kid": running.issuer.kid}, claims)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    reason = await _reason(verifier, f"{signing_input}.{_b64(signature)}")
    assert reason == "algorithm HS256 is not accepted; tokens must be RS256"


async def test_es256_token_is_rejected(running: RunningIssuer, verifier: TokenVerifier) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    claims = _claims_of(running.issuer.mint(email="a@x.io"))
    token = jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": running.issuer.kid})
    reason = await _reason(verifier, token)
    assert reason == "algorithm ES256 is not accepted; tokens must be RS256"


async def test_tampered_payload_fails_signature(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    header, _, signature = running.issuer.mint(email="a@x.io").split(".")
    claims = _claims_of(running.issuer.mint(email="a@x.io")) | {"permissions": ["trawl:staff"]}
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    assert await _reason(verifier, forged) == "signature verification failed"


def _token_with_foreign_key(issuer: LocalIssuer, kid: str) -> str:
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = _claims_of(issuer.mint(email="a@x.io"))
    return jwt.encode(claims, foreign, algorithm="RS256", headers={"kid": kid})


async def test_unknown_kid_refetches_once_per_interval(
    running: RunningIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    await verifier.verify(running.issuer.mint(email="a@x.io"))
    assert running.requests[JWKS_PATH] == 1
    clock.advance(running.settings.jwks_refetch_min_interval_seconds + 1)

    reason = await _reason(verifier, _token_with_foreign_key(running.issuer, "abc"))
    assert reason == "unknown signing key id 'abc'"
    assert running.requests[JWKS_PATH] == 2

    reason = await _reason(verifier, _token_with_foreign_key(running.issuer, "def"))
    assert reason == "unknown signing key id 'def'"
    assert running.requests[JWKS_PATH] == 2


async def test_flood_of_unknown_kids_costs_one_fetch(
    running: RunningIssuer, verifier: TokenVerifier
) -> None:
    tokens = [_token_with_foreign_key(running.issuer, f"kid-{n}") for n in range(3)] * 10
    results = await asyncio.gather(*(verifier.verify(t) for t in tokens), return_exceptions=True)
    assert all(isinstance(result, InvalidToken) for result in results)
    assert running.requests[JWKS_PATH] == 1


async def test_rotated_key_is_picked_up_on_refetch(
    running: RunningIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    old_token = running.issuer.mint(email="a@x.io")
    await verifier.verify(old_token)
    old_kid, old_file = running.issuer.kid, running.settings.issuer_key_path.read_bytes()

    new_kid = running.issuer.rotate_key()
    new_token = running.issuer.mint(email="a@x.io")
    clock.advance(running.settings.jwks_refetch_min_interval_seconds + 1)

    assert new_kid != old_kid
    assert running.settings.issuer_key_path.read_bytes() != old_file
    assert (await verifier.verify(new_token)).email == "a@x.io"
    assert (await verifier.verify(old_token)).email == "a@x.io"
    assert running.requests[JWKS_PATH] == 2
    assert LocalIssuer(running.settings).kid == new_kid


async def test_cached_keys_expire_after_cache_seconds(
    running: RunningIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    token = running.issuer.mint(email="a@x.io")
    await verifier.verify(token)
    await verifier.verify(token)
    assert running.requests[JWKS_PATH] == 1
    clock.advance(running.settings.jwks_cache_seconds)
    await verifier.verify(token)
    assert running.requests[JWKS_PATH] == 2


def test_issuer_key_survives_restart_and_is_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = LocalIssuer(settings)
    assert LocalIssuer(settings).kid == first.kid
    assert stat.S_IMODE(settings.issuer_key_path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "missing bearer token"),
        ("", "missing bearer token"),
        ("   ", "missing bearer token"),
        ("Basic dXNlcjpwdw==", "authorization header must be 'Bearer <token>'"),
        ("Bearer", "authorization header must be 'Bearer <token>'"),
        ("Bearer a b", "authorization header must be 'Bearer <token>'"),
    ],
)
def test_bad_authorization_header_is_rejected(value: str | None, reason: str) -> None:
    with pytest.raises(InvalidToken) as caught:
        bearer_from_header(value)
    assert caught.value.reason == reason


def test_bearer_scheme_is_case_insensitive() -> None:
    assert bearer_from_header("bearer abc.def.ghi") == "abc.def.ghi"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "missing bearer token"),
        ("not-a-jwt", "malformed token"),
        ("a.b.c", "malformed token"),
    ],
)
async def test_malformed_token_is_rejected(
    verifier: TokenVerifier, token: str, reason: str
) -> None:
    assert await _reason(verifier, token) == reason
