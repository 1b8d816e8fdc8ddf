"""Dataset cursors: the (attempt, sequence, record id) of the last record returned, in the
opaque keyset cursor format, and the MongoDB clause that resumes right after it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trawl.domain.datasets.filters import INT64_MAX, INT64_MIN
from trawl.domain.errors import InvalidInput
from trawl.events.key_cursor import decode_cursor, encode_cursor

_KEY = re.compile(r"(?s)(\d{1,9}):(-?\d{1,19}):(.{1,1024})")


@dataclass(frozen=True, slots=True)
class RecordKey:
    attempt: int
    sequence: int
    record_id: str

    def cursor(self) -> str:
        return encode_cursor(f"{self.attempt}:{self.sequence}:{self.record_id}")

    @classmethod
    def from_cursor(cls, cursor: str) -> RecordKey:
        """InvalidInput("after", ...) when the cursor is not a dataset cursor."""
        match = _KEY.fullmatch(decode_cursor(cursor, _KEY))
        assert match is not None  # decode_cursor checked the format
        sequence = int(match[2])
        # 19 digits can exceed MongoDB's 64-bit integers, which the query would fail on.
        if not INT64_MIN <= sequence <= INT64_MAX:
            raise InvalidInput("after", "not a valid cursor")
        return cls(int(match[1]), sequence, match[3])

    def after_clause(self) -> dict[str, Any]:
        """Records strictly after this one in (attempt, sequence, record_id) order."""
        a, s = self.attempt, self.sequence
        return {
            "$or": [
                {"attempt": {"$gt": a}},
                {"attempt": a, "sequence": {"$gt": s}},
                {"attempt": a, "sequence": s, "record_id": {"$gt": self.record_id}},
            ]
        }
