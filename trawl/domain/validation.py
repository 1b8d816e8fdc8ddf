"""Input checks shared by the domain services; each failure names the input field."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

from trawl.domain.errors import InvalidInput
from trawl.domain.ids import is_valid_id

E = TypeVar("E", bound=StrEnum)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")


def text(field: str, value: str, *, max_len: int, min_len: int = 1) -> str:
    cleaned = value.strip()
    if len(cleaned) < min_len:
        raise InvalidInput(
            field, "must not be empty" if min_len == 1 else f"needs {min_len}+ chars"
        )
    if len(cleaned) > max_len:
        raise InvalidInput(field, f"must be at most {max_len} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in cleaned):
        raise InvalidInput(field, "must not contain control characters")
    return cleaned


def email(field: str, value: str) -> str:
    cleaned = value.strip().lower()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned):
        raise InvalidInput(field, f"'{value}' is not a valid email address")
    return cleaned


def slug(field: str, value: str) -> str:
    cleaned = value.strip().lower()
    if not _SLUG.match(cleaned):
        raise InvalidInput(
            field, "must be 3-64 characters of a-z, 0-9 and '-', not starting or ending with '-'"
        )
    return cleaned


def slugify(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56]
    return base if len(base) >= 3 else f"org-{base}".strip("-")


def enum_value(field: str, value: str, kind: type[E]) -> E:
    try:
        return kind(value.lower())
    except ValueError:
        allowed = ", ".join(m.value.upper() for m in kind)
        raise InvalidInput(field, f"'{value}' is not one of {allowed}") from None


def entity_id(field: str, value: str) -> str:
    if not is_valid_id(value):
        raise InvalidInput(field, f"'{value}' is not a valid id")
    return value
