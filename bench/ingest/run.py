"""Ingest throughput and latency, end to end beside the raw sinks in the same run:

- end to end: N records appended with BufferWriter while the forwarder process ships them to
  Kinesis (moto) and the stream job (`trawl stream run`: Flink MiniCluster, validation,
  de-duplication, stats to the reports service) writes them to MongoDB and Avro parts in S3;
  records/s from the first emit until MongoDB holds all N of the run and S3 all its parts,
  and emit-to-visible latency (each document's stored_at - emitted_at) at p50/p95/p99;
- baseline: the same envelopes through the raw sinks in this process, one after the other
  (MongoRecordSink.write in batches of stream_mongo_batch, S3AvroWriter.write_part per part).

`--tune` runs the end-to-end pass for each configuration in TUNINGS (10,000 records unless
--records says otherwise) and prints a table.

    .venv/bin/python -m bench.ingest [--records 200000] [--tune] [--emit-rate 0] [--mongo secantus]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.ingest.baseline import Baseline, run_baseline
from bench.ingest.pipeline import Pass, Tuning, run_pass
from bench.ingest.records import envelopes, items
from bench.ingest.rig import MONGO_SERVERS, PRODUCT_SCHEMA, Rig, open_rig
from bench.ingest.watch import percentile
from trawl.crawlers.buffer import canonical_json

# DEFAULT is what a plain run uses: the best of `--tune`. Parts of 10,000 (the setting's
# default) ran at ~16 records/s before the job kept held records in MapState instead of its
# pickled run book; since then part size makes no measurable difference (50: 218/s,
# 1,000: 180/s, 10,000: 204/s on 10,000 records, 1 shard).
TUNINGS = (
    Tuning("part-10000", part_records=10000, shards=1),
    Tuning("part-50", part_records=50),
    Tuning("part-1000", part_records=1000),
    Tuning("bundle-5000", part_records=50, bundle_size=5000, bundle_time_ms=1000),
    Tuning("shards-2", part_records=50, shards=2),
    Tuning("shards-1", part_records=50, shards=1),
    Tuning("parallel-2", part_records=50, parallelism=2, shards=2),
)
BY_LABEL = {t.label: t for t in TUNINGS}
DEFAULT = BY_LABEL["shards-1"]
RECORDS, TUNE_RECORDS = 200_000, 10_000


async def baseline(rig: Rig, enveloped: list[dict[str, Any]], stop: threading.Event) -> Baseline:
    """The raw sinks, into a database and a bucket of their own."""
    settings = DEFAULT.apply(rig.settings).model_copy(
        update={
            "mongo_database": f"{rig.settings.mongo_database}_baseline",
            "records_bucket": f"{rig.settings.records_bucket}-baseline",
        }
    )
    return await asyncio.to_thread(run_baseline, settings, enveloped, PRODUCT_SCHEMA, stop)


def report_baseline(base: Baseline, mongo_batch: int) -> None:
    n = base.records
    print(
        f"baseline (this process, sequential):\n"
        f"  mongo upserts  {n / base.mongo_seconds:7.0f} records/s  ({base.mongo_seconds:.1f} s; "
        f"MongoRecordSink.write, batches of {mongo_batch}, commands of <=50)\n"
        f"  avro parts     {n / base.avro_seconds:7.0f} records/s  ({base.avro_seconds:.1f} s; "
        f"{base.parts} parts, S3AvroWriter.write_part)\n"
        f"  combined       {n / base.combined_seconds:7.0f} records/s  "
        f"({base.combined_seconds:.1f} s)",
        flush=True,
    )


def ratio(result: Pass, baseline_seconds: float) -> float:
    """End-to-end records/s over the baseline's (same records)."""
    return result.rate * baseline_seconds / result.records


def report_pass(result: Pass, base: Baseline) -> None:
    t0, landing, lat = result.emitted.first_at, result.landing, result.stored.latencies
    parts, avro_rows, avro_ids = result.avro
    cpu = result.cpu
    print(
        f"end to end [{result.tuning.label}: {result.tuning.describe()}]:\n"
        f"  {result.rate:7.0f} records/s  ({result.seconds:.1f} s from the first emit; "
        f"all in MongoDB +{result.mongo_done_at - t0:.1f} s (last stored_at; poll saw it "
        f"+{landing.mongo_seen_at - t0:.1f} s), all {parts} parts in S3 "
        f"+{landing.s3_seen_at - t0:.1f} s)\n"
        f"  emitting took {result.emitted.seconds:.1f} s, the forwarder was done "
        f"+{result.forwarder_done_at - t0:.1f} s; job start-up {result.job_start_seconds:.1f} s "
        f"(not counted)\n"
        f"  emit -> visible in MongoDB: p50 {percentile(lat, 50):.2f} s  "
        f"p95 {percentile(lat, 95):.2f} s  p99 {percentile(lat, 99):.2f} s  "
        f"max {lat[-1] if lat else float('nan'):.2f} s  (n={len(lat)})\n"
        f"  landed: MongoDB {result.stored.documents} docs, Avro {avro_rows} rows "
        f"({avro_ids} distinct ids) in {parts} parts, run stats accepted {result.accepted}\n"
        f"  cpu s: job {cpu.job:.0f}, moto {cpu.moto:.0f}, mongo server {cpu.mongo:.0f}, "
        f"forwarder {cpu.forwarder:.1f}, bench process {cpu.bench:.0f} "
        f"({landing.counts} count_documents, {landing.count_seconds:.1f} s)\n"
        f"  end to end / baseline combined: x{ratio(result, base.combined_seconds):.2f} "
        f"(/ MongoDB alone: x{ratio(result, base.mongo_seconds):.2f})",
        flush=True,
    )
    ok = result.stored.documents == avro_rows == avro_ids == result.records
    if not ok:
        print("  !! not every record landed exactly once", flush=True)


def report_table(passes: list[Pass], base: Baseline) -> None:
    print(
        f"\n{'config':<16}{'records/s':>10}{'e2e s':>8}{'p50 s':>8}{'p95 s':>8}"
        f"{'job cpu s':>11}{'x base':>8}"
    )
    for p in passes:
        lat = p.stored.latencies
        print(
            f"{p.tuning.label:<16}{p.rate:>10.0f}{p.seconds:>8.1f}{percentile(lat, 50):>8.2f}"
            f"{percentile(lat, 95):>8.2f}{p.cpu.job:>11.0f}"
            f"{ratio(p, base.combined_seconds):>8.2f}"
        )


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    count = args.records or (TUNE_RECORDS if args.tune else RECORDS)
    stop = threading.Event()
    main_task = asyncio.current_task()
    assert main_task is not None
    # SIGTERM (`timeout`, a CI runner) cleans up like Ctrl-C: every child is stopped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    with tempfile.TemporaryDirectory(prefix="trawl-bench-ingest-") as tmp:
        async with open_rig(Path(tmp), args.mongo) as rig:
            try:
                batch = items(count)
                enveloped = envelopes((await rig.new_run())[0], batch)
                size = sum(len(canonical_json(e)) for e in enveloped[:1000]) // min(count, 1000)
                print(
                    f"ingest: {count} records (fixture products, ~{size} bytes enveloped), one "
                    f"run; MongoDB: {rig.mongo.server}; Kinesis + S3: moto; emit rate "
                    f"{args.emit_rate or 'unpaced'}",
                    flush=True,
                )
                base = await baseline(rig, enveloped, stop)
                del enveloped
                report_baseline(base, DEFAULT.mongo_batch)
                passes: list[Pass] = []
                for tuning in TUNINGS if args.tune else (BY_LABEL[args.config],):
                    passes.append(await run_pass(rig, tuning, batch, args.emit_rate, stop))
                    report_pass(passes[-1], base)
                if args.tune:
                    report_table(passes, base)
            finally:
                stop.set()
    print(f"took {time.perf_counter() - started:.0f} s")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=0, help=f"default {RECORDS}")
    parser.add_argument(
        "--tune", action="store_true", help=f"every configuration, {TUNE_RECORDS} records"
    )
    parser.add_argument(
        "--config", choices=list(BY_LABEL), default=DEFAULT.label, help="without --tune"
    )
    parser.add_argument(
        "--emit-rate", type=float, default=0.0, help="records/s to emit at (0: as fast as possible)"
    )
    parser.add_argument(
        "--mongo",
        choices=sorted(MONGO_SERVERS),
        default="secantus",
        help="the MongoDB server, started for the bench (FerretDB 1.24's SQLite upserts scan "
        "the collection: past ~10,000 records they run at tens per second)",
    )
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
