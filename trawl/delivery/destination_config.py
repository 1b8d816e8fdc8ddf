"""The config document of each delivery medium: its fields (camelCase, as the API shows them),
which of them are secrets, how each is checked, and how config plus secrets become the
medium's destination dataclass (`sender_for` / `check` take that).

Config holds only plain values and may be shown to anyone who reads the report; secrets are
kept apart (encrypted at rest by the reports service, never returned by the API)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncssh

from trawl.delivery import config_fields as f
from trawl.delivery.config_fields import Check, ConfigError
from trawl.delivery.media import (
    Destination,
    EmailDestination,
    FtpDestination,
    S3Destination,
    SftpDestination,
    WebhookDestination,
)

MEDIA = ("s3", "sftp", "ftp", "email", "webhook")
_JSON_KINDS: dict[type, str] = {str: "a string", int: "an integer", bool: "a boolean"}


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # in the API's config / secrets documents
    attr: str  # of the destination dataclass
    check: Check
    kind: type = str  # str, int, bool or list (of strings)
    required: bool = False


@dataclass(frozen=True, slots=True)
class Medium:
    name: str
    destination: type[Any]
    config: tuple[Field, ...]
    secrets: tuple[Field, ...]

    @property
    def secret_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.secrets)


_HOST = Field("host", "host", f.host, required=True)
_USERNAME = Field("username", "username", f.text(200), required=True)
_DIRECTORY = Field("directory", "directory", f.text(1024, required=False))
_VERIFY_TLS = Field("verifyTls", "verify_tls", lambda _, v: v, bool)

SPECS: dict[str, Medium] = {
    "s3": Medium(
        "s3",
        S3Destination,
        config=(
            Field("bucket", "bucket", f.bucket, required=True),
            Field("region", "region", f.region, required=True),
            Field("accessKeyId", "access_key_id", f.text(128), required=True),
            Field("prefix", "prefix", f.text(1024, required=False)),
            Field("endpointUrl", "endpoint_url", f.http_url),
        ),
        secrets=(
            Field("secretAccessKey", "secret_access_key", f.secret, required=True),
            Field("sessionToken", "session_token", f.secret),
        ),
    ),
    "sftp": Medium(
        "sftp",
        SftpDestination,
        config=(
            _HOST,
            _USERNAME,
            Field("port", "port", f.port, int),
            _DIRECTORY,
            Field("hostKeyFingerprint", "host_key_fingerprint", f.fingerprint),
        ),
        secrets=(
            Field("password", "password", f.secret),
            Field("privateKey", "private_key", f.secret),
            Field("privateKeyPassphrase", "private_key_passphrase", f.secret),
        ),
    ),
    "ftp": Medium(
        "ftp",
        FtpDestination,
        config=(
            _HOST,
            _USERNAME,
            Field("port", "port", f.port, int),
            _DIRECTORY,
            Field("tls", "tls", lambda _, v: v, bool),
            _VERIFY_TLS,
        ),
        secrets=(Field("password", "password", f.secret, required=True),),
    ),
    "email": Medium(
        "email",
        EmailDestination,
        config=(
            _HOST,
            Field("from", "sender", f.email_address, required=True),
            Field("to", "recipients", f.recipients, list, required=True),
            Field("port", "port", f.port, int),
            Field("security", "security", f.one_of("starttls", "ssl", "none")),
            Field("username", "username", f.text(200)),
            _VERIFY_TLS,
            Field("attachmentLimitBytes", "attachment_limit_bytes", f.positive(50 << 20), int),
        ),
        secrets=(Field("password", "password", f.secret),),
    ),
    "webhook": Medium(
        "webhook",
        WebhookDestination,
        config=(Field("url", "url", f.webhook_url, required=True), _VERIFY_TLS),
        secrets=(Field("secret", "secret", f.secret, required=True),),
    ),
}


def spec(medium: str) -> Medium:
    found = SPECS.get(medium)
    if found is None:
        raise ConfigError("medium", f"'{medium}' is not one of {', '.join(MEDIA)}")
    return found


def clean_config(medium: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config checked field by field (unknown keys and secrets refused), cleaned."""
    medium_spec = spec(medium)
    known = {field.name: field for field in medium_spec.config}
    for key in config:
        if key in medium_spec.secret_names:
            raise ConfigError(f"config.{key}", "is a secret: give it in `secrets`, not `config`")
        if key not in known:
            allowed = ", ".join(known)
            raise ConfigError(f"config.{key}", f"is not a {medium} setting (known: {allowed})")
    cleaned: dict[str, Any] = {}
    for field in medium_spec.config:
        value = config.get(field.name)
        if value is None:
            if field.required:
                raise ConfigError(f"config.{field.name}", f"is required for {medium}")
            continue
        cleaned[field.name] = _checked(f"config.{field.name}", field, value)
    return cleaned


def clean_secret_changes(medium: str, secrets: Mapping[str, Any]) -> dict[str, str | None]:
    """New secret values by name; None removes a stored one."""
    names = spec(medium).secret_names
    changes: dict[str, str | None] = {}
    for key, value in secrets.items():
        if key not in names:
            raise ConfigError(
                f"secrets.{key}", f"is not a {medium} secret (known: {', '.join(names)})"
            )
        changes[key] = None if value is None else f.secret(f"secrets.{key}", value)
    return changes


def check_complete(medium: str, config: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
    """Rules across fields, once config and the secrets to store are known."""
    medium_spec = spec(medium)
    for field in medium_spec.secrets:
        if field.required and not secrets.get(field.name):
            raise ConfigError(f"secrets.{field.name}", f"is required for {medium}")
    if medium == "sftp":
        _check_sftp(secrets)
    if medium == "email" and secrets.get("password") and not config.get("username"):
        raise ConfigError("config.username", "is required when a password is set")


def build_destination(
    medium: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, str],
    *,
    timeout_seconds: float | None = None,
) -> Destination:
    """The medium's destination dataclass, for `sender_for` or `check`."""
    medium_spec = spec(medium)
    kwargs: dict[str, Any] = {}
    for field in medium_spec.config:
        if field.name in config:
            value = config[field.name]
            kwargs[field.attr] = tuple(value) if field.kind is list else value
    for field in medium_spec.secrets:
        if secrets.get(field.name):
            kwargs[field.attr] = secrets[field.name]
    if timeout_seconds is not None:
        kwargs["timeout_seconds"] = timeout_seconds
    destination: Destination = medium_spec.destination(**kwargs)
    return destination


def _checked(path: str, field: Field, value: Any) -> Any:
    if field.kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(path, "must be a list of strings")
    elif not isinstance(value, field.kind) or (field.kind is int and isinstance(value, bool)):
        raise ConfigError(path, f"must be {_JSON_KINDS[field.kind]}")
    return field.check(path, value)


def _check_sftp(secrets: Mapping[str, str]) -> None:
    key = secrets.get("privateKey")
    if not secrets.get("password") and not key:
        raise ConfigError("secrets.password", "give a password or a privateKey for sftp")
    if key is None:
        if secrets.get("privateKeyPassphrase"):
            raise ConfigError("secrets.privateKeyPassphrase", "is set without a privateKey")
        return
    try:
        asyncssh.import_private_key(key, secrets.get("privateKeyPassphrase"))
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError):
        # The library's message is about the key's format; never echo the key itself.
        raise ConfigError(
            "secrets.privateKey",
            "is not a private key in OpenSSH or PEM format (or the passphrase is wrong)",
        ) from None
