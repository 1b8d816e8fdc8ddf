"""Bearer tokens in, a verified Principal out: Auth0 JWTs checked against the issuer's JWKS.

Production and the embedded platform take the same path; only `settings.issuer_url` differs
(Auth0 tenant or the local issuer in `trawl.tenants.issuer`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from trawl.config import Settings
from trawl.tenants.principal import Principal

log = logging.getLogger(__name__)

ACCEPTED_ALGORITHM = "RS256"
MACHINE_GRANT_TYPE = "client-credentials"
AUTH0_ORG_CLAIM = "org_id"
# A JWKS endpoint that does not answer in this time is treated as down: stale keys are
# used if we have them, rather than holding every request hostage to the issuer.
JWKS_FETCH_TIMEOUT_SECONDS = 5.0


class InvalidToken(Exception):
    """The token was not accepted; `reason` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwksUnavailable(InvalidToken):
    """The issuer's keys could not be fetched, so the token could not be checked."""


class JwksCache:
    """The issuer's public keys by kid, cached for `jwks_cache_seconds`.

    An unknown kid triggers a refetch (the issuer may have rotated), but at most one fetch
    per `jwks_refetch_min_interval_seconds`, so a flood of tokens with made-up kids costs
    the issuer one request per interval. A failed fetch keeps the previous keys.
    """

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = settings.jwks_url
        self._cache_seconds = float(settings.jwks_cache_seconds)
        self._min_interval = float(settings.jwks_refetch_min_interval_seconds)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=JWKS_FETCH_TIMEOUT_SECONDS)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None

    async def get_key(self, kid: str) -> RSAPublicKey:
        key = self._keys.get(kid)
        if key is not None and self._is_fresh():
            return key
        async with self._lock:
            # Another task may have refreshed while this one waited for the lock.
            if self._needs_fetch(kid) and self._may_fetch():
                await self._fetch()
            key = self._keys.get(kid)
        if key is not None:
            return key
        if self._fetched_at is None:
            raise JwksUnavailable("signing keys unavailable: could not fetch the issuer's JWKS")
        # The kid is caller-supplied; keep the message (and the logs it lands in) short.
        raise InvalidToken(f"unknown signing key id {kid[:64]!r}")

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _is_fresh(self) -> bool:
        if self._fetched_at is None:
            return False
        return self._clock() - self._fetched_at < self._cache_seconds

    def _needs_fetch(self, kid: str) -> bool:
        return kid not in self._keys or not self._is_fresh()

    def _may_fetch(self) -> bool:
        if self._attempted_at is None:
            return True
        return self._clock() - self._attempted_at >= self._min_interval

    async def _fetch(self) -> None:
        self._attempted_at = self._clock()
        try:
            response = await self._client.get(self._url)
            response.raise_for_status()
            keys = _parse_jwks(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("jwks fetch failed url=%s error=%r", self._url, exc)
            return
        self._keys = keys
        self._fetched_at = self._clock()
        log.info("jwks fetched url=%s kids=%s", self._url, ",".join(sorted(keys)))


def _parse_jwks(document: Any) -> dict[str, RSAPublicKey]:
    """The RS256 signing keys of a JWKS document; other keys are ignored."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS document has no 'keys' list")
    keys: dict[str, RSAPublicKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", ACCEPTED_ALGORITHM) != "RS256":
            continue
        kid = jwk.get("kid")
        key = RSAAlgorithm.from_jwk(jwk)
        # A JWKS must only hold public keys; anything else is a misconfigured issuer.
        if isinstance(kid, str) and kid and isinstance(key, RSAPublicKey):
            keys[kid] = key
    if not keys:
        raise ValueError("JWKS document holds no RS256 signing keys")
    return keys


class TokenVerifier:
    """Checks an Auth0 access token and turns it into a Principal."""

    def __init__(self, settings: Settings, jwks: JwksCache | None = None) -> None:
        self._settings = settings
        self._jwks = jwks or JwksCache(settings)

    async def verify(self, token: str) -> Principal:
        if not token:
            raise InvalidToken("missing bearer token")
        kid = _checked_header(token)
        key = await self._jwks.get_key(kid)
        claims = self._decode(token, key)
        return self._principal(claims, token)

    async def aclose(self) -> None:
        await self._jwks.aclose()

    def _decode(self, token: str, key: RSAPublicKey) -> dict[str, Any]:
        settings = self._settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ACCEPTED_ALGORITHM],
                audience=settings.auth0_audience,
                issuer=settings.issuer_url,
                leeway=settings.token_leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            field = "iat" if "(iat)" in str(exc) else "nbf"
            raise InvalidToken(f"token not yet valid ({field} is in the future)") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken(f"wrong audience: expected {settings.auth0_audience}") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken(f"wrong issuer: expected {settings.issuer_url}") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("signature verification failed") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"missing required claim {exc.claim!r}") from exc
        except jwt.DecodeError as exc:
            raise InvalidToken("malformed token") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"invalid token: {exc}") from exc
        return claims

    def _principal(self, claims: Mapping[str, Any], token: str) -> Principal:
        settings = self._settings
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("missing required claim 'sub'")
        is_machine = claims.get("gty") == MACHINE_GRANT_TYPE
        permissions = _string_list(claims, "permissions")
        if is_machine:
            scope = claims.get("scope", "")
            if not isinstance(scope, str):
                raise InvalidToken("claim 'scope' must be a space-separated string")
            permissions |= frozenset(scope.split())
        return Principal(
            subject=subject,
            email=_optional_string(claims, settings.auth0_email_claim, "email"),
            org_id=_org_id(claims, settings.auth0_org_claim),
            permissions=permissions,
            is_machine=is_machine,
            token=token,
            staff_permission=settings.platform_staff_permission,
            expires_at=float(claims["exp"]) if isinstance(claims.get("exp"), int | float) else None,
        )


def _checked_header(token: str) -> str:
    """The header's kid, once the algorithm is known to be RS256."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise InvalidToken("malformed token") from exc
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise InvalidToken("malformed token")
    if alg.lower() == "none":
        raise InvalidToken("algorithm 'none' is not accepted; tokens must be RS256")
    if alg != ACCEPTED_ALGORITHM:
        raise InvalidToken(f"algorithm {alg} is not accepted; tokens must be RS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("token header has no signing key id (kid)")
    return kid


def _string_list(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidToken(f"claim {name!r} must be a list of strings")
    return frozenset(value)


def _optional_string(claims: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = claims.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidToken(f"claim {name!r} must be a string")
        return value
    return None


def _org_id(claims: Mapping[str, Any], org_claim: str) -> str | None:
    ours = _optional_string(claims, org_claim)
    auth0 = _optional_string(claims, AUTH0_ORG_CLAIM)
    # Both claims name the one organization the token is bound to; if they disagree the
    # token's tenancy is ambiguous, and guessing would risk crossing tenants.
    if ours is not None and auth0 is not None and ours != auth0:
        raise InvalidToken(f"conflicting organization claims {org_claim!r} and 'org_id'")
    return ours if ours is not None else auth0


def bearer_from_header(value: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header value."""
    if value is None or not value.strip():
        raise InvalidToken("missing bearer token")
    parts = value.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise InvalidToken("authorization header must be 'Bearer <token>'")
    return parts[1]
