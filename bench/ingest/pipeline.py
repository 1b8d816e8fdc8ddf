"""One end-to-end pass: a fresh stream job (`trawl stream run`, its own Kinesis stream, MongoDB
database, bucket and stream_dir) and a new run; the forwarder process started on an empty
buffer, then N records appended with BufferWriter while it ships them; timed from the first
emit until MongoDB holds all N of the run and S3 all of its Avro parts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.ingest.records import Emitted, Item, emit
from bench.ingest.rig import Rig, fresh_stream
from bench.ingest.watch import Landing, Stored, avro_records, group_cpu, process_cpu, stored, watch
from tests.support.forwarding import FORWARDER_MODULE, forwarder_env
from tests.support.stream_rig import log_tail, stream_view
from trawl.config import Settings
from trawl.crawlers.buffer import RunIdentity
from trawl.crawlers.buffer_reader import buffer_dir
from trawl.devservers import ChildServer, start_stream_job
from trawl.events.aws import aws_client


@dataclass(frozen=True, slots=True)
class Tuning:
    label: str
    part_records: int = 10_000  # avro_part_records
    bundle_size: int = 1000
    bundle_time_ms: int = 200
    mongo_batch: int = 500
    parallelism: int = 1
    shards: int = 4

    def describe(self) -> str:
        return (
            f"avro parts of {self.part_records}, bundle {self.bundle_size}/{self.bundle_time_ms}ms"
            f", mongo batch {self.mongo_batch}, parallelism {self.parallelism}, "
            f"{self.shards} shards"
        )

    def apply(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={
                "avro_part_records": self.part_records,
                "stream_bundle_size": self.bundle_size,
                "stream_bundle_time_ms": self.bundle_time_ms,
                "stream_mongo_batch": self.mongo_batch,
                "stream_parallelism": self.parallelism,
            }
        )


@dataclass(frozen=True, slots=True)
class Cpu:
    job: float
    moto: float
    mongo: float
    forwarder: float
    bench: float  # this process: emitting, polling, the platform


@dataclass(frozen=True, slots=True)
class Pass:
    tuning: Tuning
    records: int
    emitted: Emitted
    landing: Landing
    stored: Stored
    forwarder_done_at: float
    avro: tuple[int, int, int]  # parts, records, distinct ids
    accepted: int
    cpu: Cpu
    job_start_seconds: float

    @property
    def mongo_done_at(self) -> float:
        return self.stored.last_stored_at

    @property
    def done_at(self) -> float:
        return max(self.mongo_done_at, self.landing.s3_seen_at)

    @property
    def seconds(self) -> float:
        return self.done_at - self.emitted.first_at

    @property
    def rate(self) -> float:
        return self.records / self.seconds


async def _start_forwarder(
    settings: Settings, attempt: Path, who: RunIdentity
) -> asyncio.subprocess.Process:
    env = forwarder_env(settings, who.run_id, who.attempt) | {
        "TRAWL_ORGANIZATION_ID": who.organization_id,
        "TRAWL_PROJECT_ID": who.project_id,
        "TRAWL_REPORT_ID": who.report_id,
    }
    buffer_dir(attempt).mkdir(parents=True)
    with (attempt / "forwarder.log").open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            FORWARDER_MODULE,
            str(attempt),
            env={**os.environ, **env},
            stdout=log,
            stderr=log,
        )


async def _forwarder_exit(process: asyncio.subprocess.Process) -> float:
    code = await process.wait()
    if code != 0:
        raise RuntimeError(f"the forwarder exited with {code}")
    return time.time()


async def _stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _stat_accepted(rig: Rig, run_gid: str) -> int:
    """The run's `accepted` stat as the job last reported it (once a second)."""
    return int((await stream_view(rig.gql, rig.owner, run_gid))["stats"]["accepted"])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _measure(
    rig: Rig,
    settings: Settings,
    job: ChildServer,
    who: RunIdentity,
    run_gid: str,
    batch: list[Item],
    emit_rate: float,
    stop: threading.Event,
) -> tuple[Emitted, Landing, float, Cpu]:
    assert job.process is not None and rig.moto.process is not None
    cpu_before = (
        group_cpu(job.process.pid),
        process_cpu(rig.moto.process.pid),
        process_cpu(rig.mongo.pid),
        _children_cpu(),
        time.process_time(),
    )
    attempt = settings.data_dir / "attempt-1"
    forwarder = await _start_forwarder(settings, attempt, who)
    try:
        emitting = asyncio.to_thread(
            emit,
            buffer_dir(attempt),
            who,
            batch,
            chunk_records=settings.buffer_chunk_records,
            rate=emit_rate,
            stop=stop,
        )
        watching = watch(settings, who, len(batch), lambda: _stat_accepted(rig, run_gid))
        emitted, landing, forwarded = await asyncio.gather(
            emitting, watching, _forwarder_exit(forwarder)
        )
    finally:
        await _stop_process(forwarder)
    cpu = Cpu(
        group_cpu(job.process.pid) - cpu_before[0],
        process_cpu(rig.moto.process.pid) - cpu_before[1],
        process_cpu(rig.mongo.pid) - cpu_before[2],
        _children_cpu() - cpu_before[3],
        time.process_time() - cpu_before[4],
    )
    return emitted, landing, forwarded, cpu


async def run_pass(
    rig: Rig, tuning: Tuning, batch: list[Item], emit_rate: float, stop: threading.Event
) -> Pass:
    settings = await asyncio.to_thread(
        fresh_stream, tuning.apply(rig.settings), tuning.label, tuning.shards
    )
    who, run_gid = await rig.new_run()
    started = time.perf_counter()
    job = await start_stream_job(settings)
    job_start = time.perf_counter() - started
    try:
        emitted, landing, forwarded, cpu = await _measure(
            rig, settings, job, who, run_gid, batch, emit_rate, stop
        )
        accepted = await _stat_accepted(rig, run_gid)
    except BaseException:
        stop.set()
        print(f"--- stream job log ---\n{log_tail(settings)}", file=sys.stderr)
        raise
    finally:
        await job.stop()
        with contextlib.suppress(Exception):  # moto holds every record in memory
            kinesis = aws_client(settings, "kinesis")
            kinesis.delete_stream(StreamName=settings.kinesis_stream, EnforceConsumerDeletion=True)
    docs = await asyncio.to_thread(stored, settings, who)
    avro = await asyncio.to_thread(avro_records, settings, who)
    return Pass(
        tuning, len(batch), emitted, landing, docs, forwarded, avro, accepted, cpu, job_start
    )
