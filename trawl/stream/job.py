"""The PyFlink stream job: its configuration, its pipeline, and where it restores from.

    source ("kinesis": keyed shard reader; "files": FileSource over sealed chunk files)
      -> (run key, raw record) -> key_by(run) -> RunProcessor (validate, dedupe, stats,
         MongoDB and S3 Avro sinks)

Here the job runs in Flink's local MiniCluster inside the `trawl stream run` process; the
same `build_pipeline` submits to a cluster in production (`flink run -py` with the same
settings in the environment). Checkpoints are kept on cancel, and a start restores from the
newest complete checkpoint or savepoint under `stream_dir` (a `chk-N` directory without
`_metadata` is one still being written: restoring from it fails, so it is skipped)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pyflink.common import Configuration, Duration, Types, WatermarkStrategy
from pyflink.datastream import DataStream, MapFunction, StreamExecutionEnvironment

from trawl.config import Settings
from trawl.stream.kinesis_source import ShardReader, ShardTicks
from trawl.stream.run_processor import RunProcessor

JOB_NAME = "trawl-stream"
RAW_RECORD = Types.TUPLE([Types.STRING(), Types.STRING()])
SOURCES = ("kinesis", "files")


def checkpoints_dir(settings: Settings) -> Path:
    return settings.stream_dir / "checkpoints"


def savepoints_dir(settings: Settings) -> Path:
    return settings.stream_dir / "savepoints"


def files_inbox(settings: Settings) -> Path:
    return (
        Path(settings.stream_files_dir)
        if settings.stream_files_dir
        else (settings.stream_dir / "inbox")
    )


def complete_snapshots(settings: Settings) -> list[Path]:
    """Complete checkpoints and savepoints (directories holding `_metadata`), oldest first."""
    found = [
        *checkpoints_dir(settings).glob("*/chk-*/_metadata"),
        *savepoints_dir(settings).glob("*/_metadata"),
    ]
    return [p.parent for p in sorted(found, key=lambda p: p.stat().st_mtime)]


def latest_snapshot(settings: Settings) -> Path | None:
    snapshots = complete_snapshots(settings)
    return snapshots[-1] if snapshots else None


def build_configuration(settings: Settings, restore_from: Path | None) -> Configuration:
    conf = Configuration()
    interval_ms = int(settings.stream_checkpoint_interval_seconds * 1000)
    values = {
        "execution.checkpointing.interval": f"{interval_ms}ms",
        "execution.checkpointing.dir": checkpoints_dir(settings).resolve().as_uri(),
        "execution.checkpointing.savepoint-dir": savepoints_dir(settings).resolve().as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "3",
        "state.backend.type": "hashmap",
        # A failed task (MongoDB or S3 away) restarts from the last checkpoint, forever.
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "1s",
        "restart-strategy.exponential-delay.max-backoff": "30s",
        "restart-strategy.exponential-delay.attempts-before-reset-backoff": "2147483647",
        # Small bundles keep checkpoint barriers from queueing behind a large backlog.
        "python.fn-execution.bundle.size": str(settings.stream_bundle_size),
        "python.fn-execution.bundle.time": str(settings.stream_bundle_time_ms),
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
    }
    if restore_from is not None:
        values["execution.state-recovery.path"] = restore_from.resolve().as_uri()
    for key, value in values.items():
        conf.set_string(key, value)
    return conf


class ToRunKey(MapFunction):  # type: ignore[misc]
    """For the files source: the run key is read from the record itself."""

    def map(self, line: str) -> tuple[str, str]:
        try:
            value: Any = json.loads(line)
        except ValueError:
            return "", line
        run_id = value.get("run_id") if isinstance(value, dict) else None
        return (run_id if isinstance(run_id, str) else ""), line


def kinesis_records(env: StreamExecutionEnvironment, settings: Settings) -> DataStream:
    from pyflink.table import StreamTableEnvironment

    tables = StreamTableEnvironment.create(env)
    # An unbounded ticker drives the polling: one row per poll, each fanned out per shard.
    tables.execute_sql(
        "CREATE TEMPORARY TABLE trawl_ticks (t BIGINT) WITH ('connector' = 'datagen', "
        f"'rows-per-second' = '{max(1, settings.stream_polls_per_second)}')"
    )
    ticks = tables.to_data_stream(tables.from_path("trawl_ticks"))
    return (
        ticks.flat_map(ShardTicks(settings), Types.STRING())
        .uid("kinesis-shards")
        .name("kinesis shards")
        .key_by(lambda shard: shard, Types.STRING())
        .process(ShardReader(settings), RAW_RECORD)
        .uid("kinesis-reader")
        .name("kinesis reader")
    )


def file_records(env: StreamExecutionEnvironment, settings: Settings) -> DataStream:
    from pyflink.datastream.connectors.file_system import FileSource, StreamFormat

    inbox = files_inbox(settings)
    inbox.mkdir(parents=True, exist_ok=True)
    source = (
        FileSource.for_record_stream_format(StreamFormat.text_line_format(), str(inbox))
        .monitor_continuously(Duration.of_seconds(1))
        .build()
    )
    lines = env.from_source(source, WatermarkStrategy.no_watermarks(), "chunk files")
    return lines.uid("chunk-files").map(ToRunKey(), RAW_RECORD).uid("run-key")


def build_pipeline(env: StreamExecutionEnvironment, settings: Settings) -> None:
    if settings.stream_source not in SOURCES:
        raise ValueError(
            f"unknown stream source {settings.stream_source!r}; use one of {', '.join(SOURCES)}"
        )
    records = (
        kinesis_records(env, settings)
        if settings.stream_source == "kinesis"
        else file_records(env, settings)
    )
    (
        records.key_by(lambda record: record[0], Types.STRING())
        .process(RunProcessor(settings), Types.STRING())
        .uid("records")
        .name("validate, dedupe, stats, sinks")
    )


def create_environment(settings: Settings, restore_from: Path | None) -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment(
        build_configuration(settings, restore_from)
    )
    env.set_python_executable(sys.executable)
    env.set_parallelism(max(1, settings.stream_parallelism))
    return env
