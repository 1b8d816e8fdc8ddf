"""Keyset pagination over time-ordered ids: pages stay stable while rows are added."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from trawl.domain.errors import InvalidInput
from trawl.domain.ids import is_valid_id

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after: str | None = None

    @classmethod
    def build(cls, limit: int, after: str | None, *, maximum: int, default: int) -> PageRequest:
        if limit < 0:
            raise InvalidInput("first", "must not be negative")
        if limit > maximum:
            raise InvalidInput("first", f"must be at most {maximum}")
        if after and not is_valid_id(after):
            raise InvalidInput("after", "malformed cursor")
        return cls(limit=limit or default, after=after or None)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    total: int
