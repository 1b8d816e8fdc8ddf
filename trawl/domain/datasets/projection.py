"""Field projection: which payload fields of each record come back. Declared fields only;
a field inside one already selected is dropped (MongoDB refuses overlapping paths)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trawl.domain.datasets.fields import DeclaredField
from trawl.domain.datasets.filters import declared, payload_path
from trawl.domain.errors import InvalidInput

MAX_FIELDS = 100
# Always returned: the record's identity and position.
ENVELOPE = {"_id": 0, "record_id": 1, "attempt": 1, "sequence": 1, "emitted_at": 1}


def compile_projection(
    requested: Sequence[str] | None, fields: Mapping[str, DeclaredField]
) -> dict[str, Any] | None:
    """None: the whole record. Otherwise the envelope plus the requested payload fields."""
    if requested is None:
        return None
    if len(requested) > MAX_FIELDS:
        raise InvalidInput("fields", f"at most {MAX_FIELDS} fields")
    chosen = sorted({declared(fields, path, "fields").segments for path in requested})
    kept: list[tuple[str, ...]] = []
    for segments in chosen:  # sorted: a parent comes right before its children
        if not any(segments[: len(p)] == p for p in kept):
            kept.append(segments)
    projection = dict(ENVELOPE)
    for segments in kept:
        projection[payload_path(DeclaredField(".".join(segments), segments, frozenset()))] = 1
    return projection
