"""URL identity for the crawler SDK: what counts as "the same page" and "the same host".

De-duplication and per-host politeness both key on these, so two spellings of one URL
(`HTTP://Example.com:80/a?b=2&a=1#top` and `http://example.com/a?a=1&b=2`) share a key."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def _netloc(scheme: str, host: str, port: int | None) -> str:
    if ":" in host:  # IPv6 literals keep their brackets
        host = f"[{host}]"
    if port is None or DEFAULT_PORTS.get(scheme) == port:
        return host
    return f"{host}:{port}"


def normalize_url(url: str) -> str:
    """Lower-cased scheme and host, no default port, no fragment, sorted query, "/" for ""."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    netloc = _netloc(scheme, (parts.hostname or "").lower(), parts.port)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)), doseq=True)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def origin(url: str) -> str:
    """`scheme://host[:port]`: the unit of politeness (limits, delays, robots.txt)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    return f"{scheme}://{_netloc(scheme, (parts.hostname or '').lower(), parts.port)}"


def request_key(method: str, url: str, body: bytes | None = None) -> str:
    """Identifies a request for de-duplication; a body (POST) is part of what was asked."""
    key = f"{method.upper()} {normalize_url(url)}"
    if body:
        key += " " + hashlib.sha256(body).hexdigest()
    return key
