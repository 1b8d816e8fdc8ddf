"""Encryption at rest of the secrets users hand us (delivery passwords, keys, webhook secrets).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with the key from settings; the
previous keys decrypt too (MultiFernet), so a key is rotated by configuring a new one and
moving the old one to `delivery_secrets_previous_keys`: a secret is re-encrypted with the new
key whenever it is saved again. With no key configured, one is generated under data_dir, 0600.

Each ciphertext is bound to the row it belongs to (`owner`, e.g. a destination id, is part of
the encrypted document and checked on decrypt), so a ciphertext copied onto another row does
not decrypt there. Values never appear in logs or error messages."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from trawl.config import Settings


class SecretsError(Exception):
    """A ciphertext that no configured key opens, or that belongs to another row."""


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        self._fernet = MultiFernet([_fernet(key, i) for i, key in enumerate(keys)])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        current = settings.delivery_secrets_key.get_secret_value().strip()
        key = current.encode() if current else _load_or_create_key(settings)
        previous = settings.delivery_secrets_previous_keys.get_secret_value()
        return cls([key, *(k.strip().encode() for k in previous.split(",") if k.strip())])

    def encrypt(self, owner: str, values: Mapping[str, str]) -> str:
        document = json.dumps({"owner": owner, "values": dict(values)}, sort_keys=True)
        return self._fernet.encrypt(document.encode()).decode()

    def decrypt(self, owner: str, token: str) -> dict[str, str]:
        try:
            document = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise SecretsError(
                "stored secrets cannot be decrypted with the configured keys "
                "(was delivery_secrets_key changed without keeping the old one?)"
            ) from None
        if document.get("owner") != owner:
            raise SecretsError(f"stored secrets do not belong to {owner}")
        return {str(k): str(v) for k, v in document["values"].items()}


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _fernet(key: bytes, position: int) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        which = "delivery_secrets_key" if position == 0 else "delivery_secrets_previous_keys"
        raise ValueError(f"{which}: not a Fernet key (urlsafe base64 of 32 bytes)") from None


def _load_or_create_key(settings: Settings) -> bytes:
    path = settings.delivery_secrets_key_path
    if not path.exists():
        _write_key(path, Fernet.generate_key())
    return path.read_bytes().strip()


def _write_key(path: Path, key: bytes) -> None:
    """0600 via a temporary file linked into place: no reader sees half a key, and a key
    another process wrote first wins."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
