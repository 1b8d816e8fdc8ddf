"""Run logs in DynamoDB: the table, the item the forwarder writes per captured line, and the
read side behind `run.logs(first, after, level)`.

One partition per run (`run_id`); the sort key `seq` is `<attempt:04d>#<line:010d>`, a fixed
width string, so one Query returns a run's lines in order across its attempts and the same line
shipped twice lands on the same item. Cursors are opaque and exact: they carry the sort key of
the last line returned (encoded the way the audit log's are)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trawl.config import Settings
from trawl.domain.errors import InvalidInput
from trawl.events.aws import aws_client, ensure_table
from trawl.events.key_cursor import decode_cursor, encode_cursor

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
BATCH_WRITE_MAX_ITEMS = 25
_SORT_KEY = re.compile(r"\d{4}#\d{10}")
_MIN_SCAN_LIMIT = 50


def sort_key(attempt: int, line_seq: int) -> str:
    return f"{attempt:04d}#{line_seq:010d}"


@dataclass(frozen=True, slots=True)
class RunLogEntry:
    attempt: int
    seq: int
    at: datetime
    level: str
    stream: str
    message: str

    @property
    def cursor(self) -> str:
        """Opaque: resumes a listing right after this entry."""
        return encode_cursor(sort_key(self.attempt, self.seq))


@dataclass(frozen=True, slots=True)
class RunLogPage:
    entries: list[RunLogEntry]
    has_next: bool
    end_cursor: str | None


def log_item(run_id: str, attempt: int, line: dict[str, Any]) -> dict[str, Any]:
    """The DynamoDB item of one captured line (trawl.crawlers.runners.log_capture.LogLine)."""
    level = str(line.get("level") or "INFO")
    return {
        "run_id": {"S": run_id},
        "seq": {"S": sort_key(attempt, int(line["seq"]))},
        "attempt": {"N": str(attempt)},
        "line": {"N": str(int(line["seq"]))},
        "at": {"S": str(line.get("at") or "")},
        "level": {"S": level},
        # Numeric, so "this level and above" is one filter.
        "level_no": {"N": str(LEVELS.get(level, LEVELS["INFO"]))},
        "stream": {"S": str(line.get("stream") or "stdout")},
        "message": {"S": str(line.get("message") or "")},
    }


def _entry(item: dict[str, Any]) -> RunLogEntry:
    return RunLogEntry(
        attempt=int(item["attempt"]["N"]),
        seq=int(item["line"]["N"]),
        at=datetime.fromisoformat(item["at"]["S"]),
        level=item["level"]["S"],
        stream=item["stream"]["S"],
        message=item["message"]["S"],
    )


def ensure_run_logs_table(settings: Settings, client: Any = None) -> None:
    """Creates the run-logs table unless it exists and waits until it is usable; safe to race."""
    dynamodb = client or aws_client(settings, "dynamodb")
    ensure_table(dynamodb, settings.run_logs_table, "run_id", "seq")


def write_batch(client: Any, table: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One BatchWriteItem (≤25 items); returns the items DynamoDB left unprocessed."""
    reply = client.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": item}} for item in items]}
    )
    unprocessed = (reply.get("UnprocessedItems") or {}).get(table) or []
    return [request["PutRequest"]["Item"] for request in unprocessed]


def _query_request(run_id: str, after: str | None, min_level: int | None) -> dict[str, Any]:
    # Attribute names go through placeholders: some (level) are DynamoDB reserved words.
    condition = "#run = :run"
    names = {"#run": "run_id"}
    values: dict[str, Any] = {":run": {"S": run_id}}
    if after is not None:
        condition += " AND #seq > :after"
        names["#seq"] = "seq"
        values[":after"] = {"S": after}
    request: dict[str, Any] = {
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": True,
    }
    if min_level is not None:
        request["FilterExpression"] = "#level_no >= :min"
        names["#level_no"] = "level_no"
        values[":min"] = {"N": str(min_level)}
    return request


def _min_level(level: str | None) -> int | None:
    if level is None:
        return None
    try:
        return LEVELS[level.upper()]
    except KeyError:
        raise InvalidInput("level", f"must be one of {', '.join(LEVELS)}") from None


class RunLogStore:
    """Reads (and creates) the run-logs table; boto3 calls run in worker threads."""

    def __init__(
        self, settings: Settings, client: Any = None, *, scan_limit: int = _MIN_SCAN_LIMIT
    ) -> None:
        self._settings = settings
        self._table = settings.run_logs_table
        self._client = client or aws_client(settings, "dynamodb")
        # Items evaluated per Query call when filtering (the filter may drop most of them).
        self._scan_limit = max(1, scan_limit)

    async def ensure_table(self) -> None:
        await asyncio.to_thread(ensure_run_logs_table, self._settings, self._client)

    def _query(self, request: dict[str, Any], need: int) -> list[dict[str, Any]]:
        request = {**request, "TableName": self._table}
        filtered = "FilterExpression" in request
        items: list[dict[str, Any]] = []
        while len(items) < need:
            limit = max(need - len(items), self._scan_limit) if filtered else need - len(items)
            reply = self._client.query(**request, Limit=limit)
            items.extend(reply.get("Items") or [])
            if "LastEvaluatedKey" not in reply:
                break
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return items[:need]

    # Last in the class: above it, `list[...]` in annotations would name this method.
    async def list(
        self, run_id: str, first: int, after: str | None = None, level: str | None = None
    ) -> RunLogPage:
        """Up to `first` lines of one run, oldest first, after the cursor; with `level`, only
        lines of that level and above."""
        if first < 1:
            raise InvalidInput("first", "must be at least 1")
        request = _query_request(
            run_id,
            decode_cursor(after, _SORT_KEY) if after is not None else None,
            _min_level(level),
        )
        items = await asyncio.to_thread(self._query, request, first + 1)
        entries = [_entry(item) for item in items[:first]]
        return RunLogPage(
            entries=entries,
            has_next=len(items) > first,
            end_cursor=entries[-1].cursor if entries else None,
        )
