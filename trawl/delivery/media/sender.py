"""The shape every delivery medium shares: what is delivered, with which context, what comes
back, and how a failure is reported.

A sender is built from its destination config (secrets as plain values; they are encrypted at
rest elsewhere) and holds no connection between calls: each `send` or `check` connects, does
its work and closes, so a retry of the delivery activity starts clean."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

PROBE_NAME = ".trawl-write-check"
"""Name of the tiny object `check()` writes (and removes where allowed) to prove write access.
A fixed name, so repeated checks overwrite one probe instead of leaving many."""


@dataclass(frozen=True, slots=True)
class DeliveryFile:
    """The export file to deliver: a local path plus how the recipient should see it."""

    path: Path
    name: str
    content_type: str
    size: int
    download_url: str
    url_expires_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    """What the delivery is about, for webhook bodies, email subjects and logs."""

    organization_id: str
    report_id: str
    report_name: str
    run_id: str
    records: int
    format: str
    compression: str
    finished_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """Where the file landed (URL, remote path or message id) and how many bytes went.

    `details` carries medium-specific facts worth keeping with the delivery, such as the SFTP
    host key fingerprint seen or the webhook's answer status."""

    medium: str
    location: str
    size: int
    details: Mapping[str, str] = field(default_factory=dict)


class DeliveryError(Exception):
    """A delivery or check failed. `str(error)` is written for the user ("SFTP login refused
    for user 'x' at host:22"); `retryable` tells the workflow whether trying again later can
    help (network trouble, 5xx) or the user must change something first (credentials, paths)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class Sender(Protocol):
    """One medium's sender, bound to one destination."""

    medium: str

    async def send(self, file: DeliveryFile, context: DeliveryContext) -> DeliveryReceipt:
        """Deliver `file`; raises DeliveryError."""
        ...

    async def check(self) -> None:
        """Connect, log in and prove write access without delivering; raises DeliveryError."""
        ...


def temporary_name(name: str) -> str:
    """A hidden, unique sibling name to upload to before renaming onto `name`, so nobody
    watching the directory picks up a partial file."""
    return f".{name}.{uuid.uuid4().hex[:12]}.part"


def remote_path(directory: str, name: str) -> str:
    """`directory/name` with exactly one slash; an empty directory means the login directory."""
    if directory in ("", "."):
        return name
    return f"{directory.rstrip('/')}/{name}"


def short(text: str, limit: int = 200) -> str:
    """One line of at most `limit` characters of a server's answer, for error messages."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
