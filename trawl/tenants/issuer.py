"""The local Auth0-shaped issuer: a JWKS, an OpenID configuration and RS256 tokens shaped
like Auth0's, so the embedded platform and the tests verify tokens on the production path.

Embedded and tests only: it hands a token to anyone who asks."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from jwt.algorithms import RSAAlgorithm
from pydantic import BaseModel, ValidationError

from trawl.config import Settings

ALGORITHM = "RS256"
KEY_SIZE = 2048
DEFAULT_CLIENT_ID = "trawl-local-client"
USER_SCOPE = "openid profile email"


class LocalIssuer:
    """Signs tokens with an RSA key kept at `settings.issuer_key_path`.

    The key is generated on first start and reused afterwards, so tokens minted before a
    restart stay valid. `rotate_key` replaces it; the previous public key stays in the
    JWKS (until restart) so tokens already handed out keep verifying, as Auth0 does.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._key_path = settings.issuer_key_path
        self._key = _load_or_create_key(self._key_path)
        self._previous: list[rsa.RSAPublicKey] = []

    @property
    def kid(self) -> str:
        return _thumbprint(self._key.public_key())

    @property
    def issuer_url(self) -> str:
        return self._settings.issuer_url

    @property
    def token_ttl_seconds(self) -> int:
        return self._settings.issuer_token_ttl_seconds

    def jwks(self) -> dict[str, Any]:
        public_keys = [self._key.public_key(), *self._previous]
        return {"keys": [_public_jwk(key) for key in public_keys]}

    def rotate_key(self) -> str:
        """Generate a new signing key, persist it, and return its kid."""
        new_key = _generate_key()
        _write_key(self._key_path, new_key, replace=True)
        self._previous.insert(0, self._key.public_key())
        self._key = new_key
        return self.kid

    def mint(
        self,
        *,
        subject: str | None = None,
        email: str | None = None,
        org_id: str | None = None,
        permissions: Sequence[str] = (),
        machine: bool = False,
        ttl_seconds: int | None = None,
        audience: str | None = None,
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        """An RS256 access token shaped like Auth0's.

        For a machine, `subject` is the client id (default `trawl-local-client`) and `sub`
        becomes `<client_id>@clients`. For a user without `subject`, `sub` is derived from
        the email, so the same email always gets the same subject. `extra_claims` are
        applied last; a claim set to None there is removed (tests use it to drop `exp`).
        """
        settings = self._settings
        now = int(time.time())
        ttl = settings.issuer_token_ttl_seconds if ttl_seconds is None else ttl_seconds
        claims: dict[str, Any] = {
            "iss": settings.issuer_url,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "permissions": list(permissions),
        }
        target = audience or settings.auth0_audience
        if machine:
            client_id = subject or DEFAULT_CLIENT_ID
            claims |= {
                "sub": client_id if client_id.endswith("@clients") else f"{client_id}@clients",
                "azp": client_id.removesuffix("@clients"),
                # Auth0 issues client-credentials tokens for the API alone.
                "aud": target,
                "gty": "client-credentials",
                "scope": " ".join(permissions),
            }
        else:
            claims |= {
                "sub": subject or _user_subject(email),
                "aud": [target, f"{settings.issuer_url}userinfo"],
                "azp": DEFAULT_CLIENT_ID,
                "scope": USER_SCOPE,
            }
        if email is not None:
            claims[settings.auth0_email_claim] = email
        if org_id is not None:
            claims[settings.auth0_org_claim] = org_id
        for name, value in (extra_claims or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def openid_configuration(self) -> dict[str, Any]:
        issuer = self._settings.issuer_url
        return {
            "issuer": issuer,
            "jwks_uri": self._settings.jwks_url,
            "token_endpoint": f"{issuer}oauth/token",
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
        }


def _user_subject(email: str | None) -> str:
    if not email:
        raise ValueError("a user token needs a subject or an email")
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"auth0|{digest[:24]}"


def _generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        _write_key(path, _generate_key(), replace=False)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"issuer key at {path} is not an RSA private key")
    return key


def _write_key(path: Path, key: rsa.RSAPrivateKey, *, replace: bool) -> None:
    """Write the key 0600 via a temporary file, so no reader sees half a key.

    Without `replace`, a key another process wrote first wins and this one is discarded.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        if replace:
            os.replace(tmp, path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _public_jwk(key: rsa.RSAPublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key, as_dict=True)
    return jwk | {"kid": _thumbprint(key), "use": "sig", "alg": ALGORITHM}


def _thumbprint(key: rsa.RSAPublicKey) -> str:
    """RFC 7638 JWK thumbprint: stable for a key, different for every other key."""
    jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    canonical = json.dumps(
        {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class ClientCredentialsRequest(BaseModel):
    grant_type: str
    client_id: str
    client_secret: str | None = None
    audience: str | None = None
    org_id: str | None = None
    scope: str | None = None


class DevTokenRequest(BaseModel):
    email: str
    org_id: str | None = None
    permissions: list[str] = []


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def _form_or_json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode()))
    parsed = json.loads(body or b"{}")
    if not isinstance(parsed, dict):
        raise ValueError("request body must be a JSON object")
    return parsed


def create_issuer_app(issuer: LocalIssuer) -> FastAPI:
    """The issuer's HTTP face: the endpoints of an Auth0 tenant that Trawl relies on."""
    app = FastAPI(title="Trawl local issuer", docs_url=None, redoc_url=None)

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        return issuer.jwks()

    @app.get("/.well-known/openid-configuration")
    async def openid_configuration() -> dict[str, Any]:
        return issuer.openid_configuration()

    @app.post("/oauth/token", response_model=None)
    async def oauth_token(request: Request) -> JSONResponse | dict[str, Any]:
        """Client-credentials grant, JSON or form-encoded.

        The embedded issuer accepts any client id and secret: it is a development and
        test stand-in for Auth0, never exposed in production. `scope` (space-separated)
        becomes the machine token's scope and permissions.
        """
        try:
            form = ClientCredentialsRequest.model_validate(await _form_or_json(request))
        except (ValueError, ValidationError) as exc:
            return _oauth_error("invalid_request", str(exc))
        if form.grant_type != "client_credentials":
            return _oauth_error("unsupported_grant_type", f"grant_type {form.grant_type!r}")
        token = issuer.mint(
            subject=form.client_id,
            org_id=form.org_id,
            permissions=(form.scope or "").split(),
            machine=True,
            audience=form.audience,
        )
        return _token_response(token, issuer)

    @app.post("/dev/token")
    async def dev_token(body: DevTokenRequest) -> dict[str, Any]:
        """A user token for any email: embedded platform and tests only, no login."""
        token = issuer.mint(email=body.email, org_id=body.org_id, permissions=body.permissions)
        return _token_response(token, issuer)

    return app


def _token_response(token: str, issuer: LocalIssuer) -> dict[str, Any]:
    return {"access_token": token, "token_type": "Bearer", "expires_in": issuer.token_ttl_seconds}
