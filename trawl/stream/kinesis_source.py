"""The job's Kinesis source: a keyed Python reader whose shard positions are Flink state.

The official connector (flink-connector-aws-kinesis-streams 6.0.0-2.0, the only line built
for Flink 2.x) is not served by this machine's Maven mirror, and the 1.x-era connectors it
does serve fail on Flink 2.3 with NoClassDefFoundError (RichParallelSourceFunction /
SourceFunction were removed); see docs/stream-research/FINDINGS.md §1. So the source is:

    ticker (datagen, polls_per_second rows/s) -> ShardTicks: one element per shard per tick
      -> key_by(shard) -> ShardReader: GetRecords after the sequence number kept in keyed
         ValueState, emitting (run key, record data)

The last sequence number read per shard is keyed state, checkpointed with everything
downstream, so a restore resumes each shard exactly where the checkpoint was taken: together
with the idempotent sinks that makes the job exactly-once end to end. AWS allows 5
GetRecords per second per shard, hence the default of 5 ticks per second. Re-sharding
(parent/child shards) is not followed: a closed parent is read to its end, children are
picked up by the next shard listing like any new shard."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pyflink.common import Types
from pyflink.datastream import FlatMapFunction, KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from trawl.config import Settings
from trawl.events.aws import aws_client

log = logging.getLogger(__name__)

LIST_SHARDS_EVERY_SECONDS = 10.0
LAG_WRITE_EVERY_SECONDS = 2.0


def run_key(partition_key: str) -> str:
    """The run a record belongs to, from its partition key (`run:attempt:sequence`), so the
    reader routes records without parsing them."""
    return partition_key.split(":", 1)[0]


class ShardTicks(FlatMapFunction):  # type: ignore[misc]
    """Turns each tick into one element per shard of the stream (re-listed every 10 s)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._shards: list[str] = []
        self._listed_at = 0.0

    def open(self, runtime_context: RuntimeContext) -> None:
        self._client = aws_client(self.settings, "kinesis")

    def flat_map(self, value: Any) -> Iterator[str]:
        if time.monotonic() - self._listed_at > LIST_SHARDS_EVERY_SECONDS or not self._shards:
            try:
                shards = self._client.list_shards(StreamName=self.settings.kinesis_stream)
                self._shards = [s["ShardId"] for s in shards["Shards"]]
                self._listed_at = time.monotonic()
            except (BotoCoreError, ClientError) as exc:
                # Kinesis away: keep polling the shards we know; the reader logs its own.
                log.warning("stream source: listing shards failed: %s", exc)
        yield from self._shards


class ShardReader(KeyedProcessFunction):  # type: ignore[misc]
    """Keyed by shard id: reads the records after the checkpointed sequence number."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._position: Any = None
        # shard -> (NextShardIterator, the position it continues from): saves a
        # GetShardIterator call per poll while nothing moved the position.
        self._iterators: dict[str, tuple[str | None, str | None]] = {}
        self._lag: dict[str, int] = {}
        self._lag_written_at = 0.0

    def open(self, runtime_context: RuntimeContext) -> None:
        self._client = aws_client(self.settings, "kinesis")
        self._position = runtime_context.get_state(
            ValueStateDescriptor("shard_position", Types.STRING())
        )

    def process_element(self, shard: str, ctx: Any) -> Iterator[tuple[str, str]]:
        position: str | None = self._position.value()
        try:
            iterator = self._iterator(shard, position)
            reply = self._client.get_records(
                ShardIterator=iterator, Limit=self.settings.stream_poll_records
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExpiredIteratorException":
                self._iterators.pop(shard, None)
                return
            log.warning("stream source: reading %s failed: %s", shard, exc)
            return
        except BotoCoreError as exc:
            # Kinesis unreachable: nothing is lost, the position did not move.
            log.warning("stream source: reading %s failed: %s", shard, exc)
            self._iterators.pop(shard, None)
            return
        last = position
        for record in reply.get("Records", []):
            last = record["SequenceNumber"]
            data = record["Data"]
            yield run_key(record["PartitionKey"]), data.decode("utf-8", "backslashreplace")
        if last != position:
            self._position.update(last)
        self._iterators[shard] = (reply.get("NextShardIterator"), last)
        self._note_lag(shard, int(reply.get("MillisBehindLatest", 0)))

    def _iterator(self, shard: str, position: str | None) -> str:
        cached = self._iterators.get(shard)
        if cached is not None and cached[1] == position and cached[0]:
            return cached[0]
        stream = self.settings.kinesis_stream
        if position is None:
            reply = self._client.get_shard_iterator(
                StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )
        else:
            reply = self._client.get_shard_iterator(
                StreamName=stream,
                ShardId=shard,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                StartingSequenceNumber=position,
            )
        return str(reply["ShardIterator"])

    def _note_lag(self, shard: str, millis_behind: int) -> None:
        """Shard lag for `trawl stream status`, written to a small file now and then."""
        self._lag[shard] = millis_behind
        now = time.monotonic()
        if now - self._lag_written_at < LAG_WRITE_EVERY_SECONDS:
            return
        self._lag_written_at = now
        write_shard_lag(self.settings.stream_dir, self._lag)


def write_shard_lag(stream_dir: Path, lag: dict[str, int]) -> None:
    directory = stream_dir / "lag"
    directory.mkdir(parents=True, exist_ok=True)
    for shard, millis in lag.items():
        path = directory / f"{shard}.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"shard": shard, "millis_behind": millis, "at": time.time()}))
        tmp.replace(path)
