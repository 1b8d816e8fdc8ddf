"""Checks of single destination config values: each takes the value as given (already known to
be of the field's JSON kind) and returns it cleaned, or raises ConfigError naming the field."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")

_EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]+\.[^@\s<>,;\"]{2,}$")
_HOST = re.compile(r"^[A-Za-z0-9._\-:\[\]]{1,253}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z0-9][a-z0-9\-]{0,31}$")
MAX_RECIPIENTS = 50
MAX_SECRET_CHARS = 16 * 1024

Check = Callable[[str, Any], Any]


class ConfigError(Exception):
    """`field` is relative to the destination: `config.host`, `secrets.password`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _no_control(field: str, value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(field, "must not contain control characters")
    return value


def text(max_len: int, *, required: bool = True) -> Check:
    def check(field: str, value: Any) -> str:
        cleaned = _no_control(field, str(value).strip())
        if required and not cleaned:
            raise ConfigError(field, "must not be empty")
        if len(cleaned) > max_len:
            raise ConfigError(field, f"must be at most {max_len} characters")
        return cleaned

    return check


def host(field: str, value: Any) -> str:
    cleaned = str(value).strip()
    if not cleaned:
        raise ConfigError(field, "must not be empty")
    if "://" in cleaned or not _HOST.match(cleaned):
        raise ConfigError(field, f"'{cleaned}' is not a host name or address (no scheme, path)")
    return cleaned


def port(field: str, value: Any) -> int:
    if not 1 <= int(value) <= 65535:
        raise ConfigError(field, "must be between 1 and 65535")
    return int(value)


def positive(limit: int) -> Check:
    def check(field: str, value: Any) -> int:
        if not 0 <= int(value) <= limit:
            raise ConfigError(field, f"must be between 0 and {limit}")
        return int(value)

    return check


def bucket(field: str, value: Any) -> str:
    cleaned = str(value).strip()
    if not _BUCKET.match(cleaned):
        raise ConfigError(field, f"'{cleaned}' is not an S3 bucket name")
    return cleaned


def region(field: str, value: Any) -> str:
    cleaned = str(value).strip()
    if not _REGION.match(cleaned):
        raise ConfigError(field, f"'{cleaned}' is not a region name (like eu-west-1)")
    return cleaned


def email_address(field: str, value: Any) -> str:
    cleaned = str(value).strip()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned):
        raise ConfigError(field, f"'{cleaned}' is not a valid email address")
    return cleaned


def recipients(field: str, value: Any) -> list[str]:
    addresses = [email_address(f"{field}.{i}", item) for i, item in enumerate(value)]
    if not addresses:
        raise ConfigError(field, "needs at least one address")
    if len(addresses) > MAX_RECIPIENTS:
        raise ConfigError(field, f"at most {MAX_RECIPIENTS} addresses")
    return addresses


def one_of(*choices: str) -> Check:
    def check(field: str, value: Any) -> str:
        cleaned = str(value).strip().lower()
        if cleaned not in choices:
            raise ConfigError(field, f"'{value}' is not one of {', '.join(choices)}")
        return cleaned

    return check


def fingerprint(field: str, value: Any) -> str:
    cleaned = str(value).strip()
    if not cleaned.startswith("SHA256:") or len(cleaned) > 100 or " " in cleaned:
        raise ConfigError(field, "must be a SHA256 fingerprint as ssh-keygen -l prints it")
    return cleaned


def http_url(field: str, value: Any) -> str:
    """Any http(s) URL with a host (S3-compatible endpoints)."""
    cleaned = str(value).strip()
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(field, f"'{cleaned}' is not an http(s) URL")
    return _no_control(field, cleaned)


def webhook_url(field: str, value: Any) -> str:
    """https, or plain http to this machine only (local setups and tests)."""
    cleaned = http_url(field, value)
    parts = urlsplit(cleaned)
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(field, "must be an https:// URL (http only for localhost)")
    if parts.username or parts.password:
        raise ConfigError(field, "must not carry credentials; the secret signs each request")
    return cleaned


def secret(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(field, "must be a non-empty string")
    if len(value) > MAX_SECRET_CHARS:
        raise ConfigError(field, f"must be at most {MAX_SECRET_CHARS} characters")
    return value
