"""Relay plumbing: opaque global ids, cursors, connections with a capped page size."""

from __future__ import annotations

import base64
import binascii
from typing import Generic, TypeVar

import strawberry

from trawl.graphql.errors import graphql_error, user_input_error

NodeT = TypeVar("NodeT")


def to_global_id(type_name: str, raw_id: str) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{raw_id}".encode()).decode())


def from_global_id(
    global_id: str, *, expected: str | None = None, field: str = "id"
) -> tuple[str, str]:
    """Decode; a malformed id, or one of the wrong type, is a user error naming the field."""
    try:
        decoded = base64.urlsafe_b64decode(global_id.encode()).decode()
        type_name, raw_id = decoded.split(":", 1)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise user_input_error(field, f"'{global_id}' is not a valid id") from None
    if not type_name or not raw_id:
        raise user_input_error(field, f"'{global_id}' is not a valid id")
    if expected is not None and type_name != expected:
        raise user_input_error(field, f"expected a {expected} id, got a {type_name} id")
    return type_name, raw_id


def raw_id(global_id: str, expected: str, field: str = "id") -> str:
    return from_global_id(global_id, expected=expected, field=field)[1]


def encode_cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(f"cursor:{raw}".encode()).decode()


def decode_cursor(cursor: str | None) -> str:
    """Cursors are read by connection fields (never mutations), so a bad one is a GraphQL
    error with extensions.code INVALID_INPUT."""
    if not cursor:
        return ""
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise graphql_error(user_input_error("after", "malformed cursor")) from None
    if not decoded.startswith("cursor:"):
        raise graphql_error(user_input_error("after", "malformed cursor"))
    return decoded.removeprefix("cursor:")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    total_count: int

    @strawberry.field
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


def build_connection(
    items: list[tuple[str, NodeT]], *, has_next: bool, total: int
) -> Connection[NodeT]:
    """items: (raw id used as the keyset cursor, node)."""
    edges = [Edge(cursor=encode_cursor(raw), node=node) for raw, node in items]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
        total_count=total,
    )
