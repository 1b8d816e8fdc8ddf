"""The token platform components (workers, the event handler) present to the services: a
client-credentials token carrying the system permission, from Auth0 in production and
from the local issuer here, cached until shortly before it expires."""

from __future__ import annotations

import asyncio
import time

import httpx

from trawl.config import Settings

REFRESH_MARGIN_SECONDS = 60.0


def token_url(settings: Settings) -> str:
    return f"{settings.issuer_url}oauth/token"


def client_credentials(settings: Settings) -> dict[str, str]:
    """The client-credentials grant the platform's components present (async and sync
    callers share it: trawl.stream.services asks from Flink's worker threads)."""
    return {
        "grant_type": "client_credentials",
        "client_id": settings.system_client_id,
        "client_secret": settings.system_client_secret,
        "audience": settings.auth0_audience,
        "scope": settings.system_permission,
    }


class SystemTokenProvider:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._http = http or httpx.AsyncClient(timeout=10)
        self._owns_http = http is None
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token and time.monotonic() < self._expires_at - REFRESH_MARGIN_SECONDS:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._expires_at - REFRESH_MARGIN_SECONDS:
                return self._token
            await self._fetch()
            return self._token

    async def _fetch(self) -> None:
        settings = self._settings
        response = await self._http.post(token_url(settings), json=client_credentials(settings))
        if response.status_code != 200:
            raise RuntimeError(
                f"system token request to {settings.issuer_url} failed: "
                f"{response.status_code} {response.text[:200]}"
            )
        body = response.json()
        self._token = str(body["access_token"])
        self._expires_at = time.monotonic() + float(body.get("expires_in", 3600))

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
