"""Crawler throughput, each beside a bare baseline in the same run:

- crawl: pages/s of the `generic.html` code (a real crawler subprocess: robots.txt, polite
  fetcher, dedupe, parsing, record buffer) on the fixture site, against plain httpx fetching
  the same request list at the same concurrency and nothing else;
- forward: records/s of the forwarder (`python -m trawl.crawlers.forwarder`) draining a
  written buffer into Kinesis (moto), against plain boto3 PutRecords of the same records
  (same bytes, same partition keys) in batches of 500 into a fresh stream.

The site runs in a process of its own (this module with --serve-site), so its CPU does not
compete with the baseline's event loop, and times each crawl from the first request's
arrival to the last response. Rounds alternate which side goes first; numbers are medians.

    .venv/bin/python -m bench.crawl.run [--records 20000] [--rounds 5] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.responses import JSONResponse

from tests.support.crawler_process import run_crawler_process
from tests.support.forwarding import FORWARDER_MODULE, forwarder_env, identity, write_records
from tests.support.platform import free_port
from trawl.config import Settings
from trawl.crawlers.buffer_reader import BufferedRecord, read_chunk, sealed_chunks
from trawl.crawlers.forwarder.progress import read_progress
from trawl.crawlers.kinesis import MAX_BATCH_RECORDS, ensure_stream
from trawl.demo.catalog import expected_products
from trawl.demo.fixture_site import THROTTLED_LISTING_PAGE, create_fixture_site
from trawl.demo.report_fields import catalog_parameters
from trawl.devservers import ChildServer, start_moto
from trawl.events.aws import aws_client

SERVE_SITE = "--serve-site"
WINDOW_PATH = "/_bench/window"
THROTTLED_TARGET = f"/catalog?page={THROTTLED_LISTING_PAGE}"


# --- the fixture site, in its own process ------------------------------------------------


class _Window:
    """ASGI wrapper: first request arrival and last response end since the last reset,
    answered (and reset by POST) at WINDOW_PATH."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.first = self.last = 0.0
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != WINDOW_PATH:
            arrived = time.perf_counter()
            self.first = self.first or arrived
            await self.app(scope, receive, send)
            self.last, self.requests = time.perf_counter(), self.requests + 1
            return
        if scope["method"] == "POST":
            self.first = self.last = 0.0
            self.requests = 0
        body = {"seconds": self.last - self.first, "requests": self.requests}
        await JSONResponse(body)(scope, receive, send)


def serve_site(port: int) -> None:
    app = _Window(create_fixture_site())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU seconds of every child process this one has waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Site:
    url: str
    process: asyncio.subprocess.Process
    http: httpx.AsyncClient

    @classmethod
    async def start(cls, http: httpx.AsyncClient) -> Site:
        port = free_port()
        command = [sys.executable, "-m", "bench.crawl.run", SERVE_SITE, str(port)]
        process = await asyncio.create_subprocess_exec(*command)
        site = cls(f"http://127.0.0.1:{port}", process, http)
        for _ in range(200):
            try:
                await http.get(site.url + WINDOW_PATH)
                return site
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        site.process.kill()
        raise RuntimeError("the fixture site did not start")

    def cpu(self) -> float:
        return proc_cpu(self.process.pid)

    async def prepare(self) -> None:
        """Forgets the last crawl and takes the one-shot 429 (Retry-After: 1) out of the way,
        so no timed crawl spends a second waiting on it; then restarts the window."""
        (await self.http.post(self.url + "/_fixture/reset")).raise_for_status()
        assert (await self.http.get(self.url + THROTTLED_TARGET)).status_code == 429
        (await self.http.post(self.url + WINDOW_PATH)).raise_for_status()

    async def window(self) -> tuple[float, int]:
        data = (await self.http.get(self.url + WINDOW_PATH)).json()
        return float(data["seconds"]), int(data["requests"])

    async def requests(self) -> dict[str, int]:
        data = (await self.http.get(self.url + "/_fixture/stats")).json()
        return dict(data["requests"])

    async def stop(self) -> None:
        self.process.terminate()
        await asyncio.wait_for(self.process.wait(), 10)


# --- crawl: generic.html against bare httpx ------------------------------------------------


@dataclass
class Sample:
    """One timed pass of one side: `items` pages (crawl) or records (forward)."""

    items: int
    seconds: float
    client_cpu: float
    server_cpu: float
    records: int = 0
    wall: float = 0.0

    @property
    def rate(self) -> float:
        return self.items / self.seconds


async def sdk_crawl(site: Site, tmp: Path, concurrency: int, retries: int) -> Sample:
    parameters = {
        **catalog_parameters(site.url),
        "concurrency": min(64, 2 * concurrency),  # handlers, so parsing never idles a slot
    }
    env = {
        "TRAWL_CRAWLER_MAX_RETRIES": str(retries),
        "TRAWL_CRAWLER_DOMAIN_CONCURRENCY": str(concurrency),
        "TRAWL_RECORD_KEY_FIELDS": "id",
    }
    await site.prepare()
    cpu, site_cpu, started = children_cpu(), site.cpu(), time.perf_counter()
    run = await run_crawler_process(
        ["-m", "trawl.crawlers.builtin.generic_html"],
        Path(tempfile.mkdtemp(dir=tmp)),
        parameters,
        **env,
    )
    wall = time.perf_counter() - started
    assert run.returncode == 0, run.stderr
    seconds, _ = await site.window()
    stats = run.stats
    assert stats["records"] == len(expected_products()), stats
    return Sample(
        stats["pages"],
        seconds,
        children_cpu() - cpu,
        site.cpu() - site_cpu,
        records=stats["records"],
        wall=wall,
    )


async def bare_crawl(site: Site, targets: list[str], concurrency: int) -> Sample:
    """The same requests with plain httpx: `concurrency` workers over a fixed list."""
    await site.prepare()
    queue = list(reversed(targets))
    ok = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal ok
        while queue:
            response = await client.get(queue.pop())
            ok += response.is_success

    cpu, site_cpu = time.process_time(), site.cpu()
    async with httpx.AsyncClient(base_url=site.url, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    seconds, requests = await site.window()
    assert requests == len(targets), (requests, len(targets))
    return Sample(ok, seconds, time.process_time() - cpu, site.cpu() - site_cpu)


async def crawled_targets(site: Site, tmp: Path, concurrency: int, retries: int) -> list[str]:
    """A warm-up SDK crawl; its requests (from the site's log) are the baseline's list, less
    robots.txt, the 429 that `prepare` takes and the bench's own /_fixture/ calls."""
    await sdk_crawl(site, tmp, concurrency, retries)
    log = await site.requests()
    log.pop("/robots.txt", None)
    log[THROTTLED_TARGET] -= 1
    pages = sorted((t, n) for t, n in log.items() if not t.startswith("/_fixture/"))
    return [target for target, count in pages for _ in range(count)]


async def bench_crawl(args: argparse.Namespace, tmp: Path) -> tuple[list[Sample], list[Sample]]:
    sdk: list[Sample] = []
    bare: list[Sample] = []
    async with httpx.AsyncClient(timeout=30) as http:
        site = await Site.start(http)
        try:
            targets = await crawled_targets(site, tmp, args.concurrency, args.retries)
            for index in range(args.rounds):
                if index % 2:
                    bare.append(await bare_crawl(site, targets, args.concurrency))
                sdk.append(await sdk_crawl(site, tmp, args.concurrency, args.retries))
                if not index % 2:
                    bare.append(await bare_crawl(site, targets, args.concurrency))
        finally:
            await site.stop()
    assert {s.items for s in sdk + bare} == {sdk[0].items}, "the same pages"
    return sdk, bare


# --- forward: the forwarder against bare PutRecords ---------------------------------------


def _payloads(count: int) -> list[dict[str, Any]]:
    products = expected_products()
    return [{**products[n % len(products)], "id": n + 1} for n in range(count)]


def _stream(settings: Settings, name: str) -> Settings:
    named = settings.model_copy(update={"kinesis_stream": name})
    ensure_stream(named)
    return named


def forwarder_ship(settings: Settings, attempt: Path, moto: ChildServer) -> Sample:
    """The forwarder process from start to exit 0 (all records acknowledged)."""
    env = {**os.environ, **forwarder_env(settings, attempt.name)}
    command = [sys.executable, "-m", FORWARDER_MODULE, str(attempt)]
    assert moto.process is not None
    cpu, moto_cpu, started = children_cpu(), proc_cpu(moto.process.pid), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr.decode()
    shipped = int(read_progress(attempt).get("records_shipped", 0))
    return Sample(shipped, seconds, children_cpu() - cpu, proc_cpu(moto.process.pid) - moto_cpu)


def bare_ship(settings: Settings, records: list[BufferedRecord], moto: ChildServer) -> Sample:
    kinesis = aws_client(settings, "kinesis")
    assert moto.process is not None
    cpu, moto_cpu, started = time.process_time(), proc_cpu(moto.process.pid), time.perf_counter()
    for start in range(0, len(records), MAX_BATCH_RECORDS):
        batch = records[start : start + MAX_BATCH_RECORDS]
        reply = kinesis.put_records(
            StreamName=settings.kinesis_stream,
            Records=[{"Data": r.data, "PartitionKey": r.partition_key} for r in batch],
        )
        assert reply["FailedRecordCount"] == 0, reply
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Sample(len(records), seconds, cpu, proc_cpu(moto.process.pid) - moto_cpu)


def forward_round(
    settings: Settings, root: Path, payloads: list[dict[str, Any]], moto: ChildServer, index: int
) -> tuple[Sample, Sample, float]:
    """Both sides on fresh streams, and the forwarder's start-up (an empty, closed buffer)."""
    attempt = root / f"forward-{index}"
    write_records(attempt / "buffer", identity(attempt.name), payloads)
    records = [r for chunk in sealed_chunks(attempt / "buffer") for r in read_chunk(chunk).records]
    assert len(records) == len(payloads)
    ours = _stream(settings, f"bench-forwarder-{index}")
    theirs = _stream(settings, f"bench-bare-{index}")
    empty = root / f"empty-{index}"
    write_records(empty / "buffer", identity(empty.name), [])
    startup = forwarder_ship(ours, empty, moto).seconds
    if index % 2:
        bare = bare_ship(theirs, records, moto)
        forwarder = forwarder_ship(ours, attempt, moto)
    else:
        forwarder = forwarder_ship(ours, attempt, moto)
        bare = bare_ship(theirs, records, moto)
    assert forwarder.items == len(payloads), forwarder
    kinesis = aws_client(settings, "kinesis")
    for stream in (ours, theirs):  # moto keeps records in memory; free them for the next round
        kinesis.delete_stream(StreamName=stream.kinesis_stream, EnforceConsumerDeletion=True)
    return forwarder, bare, startup


async def bench_forward(
    args: argparse.Namespace, tmp: Path
) -> tuple[list[Sample], list[Sample], list[float]]:
    port = free_port()
    settings = Settings(
        data_dir=tmp,
        aws_port=port,
        aws_endpoint_url=f"http://127.0.0.1:{port}",
        kinesis_shards=args.shards,
    )
    moto = await start_moto(settings)
    payloads = _payloads(args.records)
    results: list[tuple[Sample, Sample, float]] = []
    try:
        for index in range(args.rounds):
            round_ = await asyncio.to_thread(forward_round, settings, tmp, payloads, moto, index)
            results.append(round_)
    finally:
        await moto.stop()
    return [r[0] for r in results], [r[1] for r in results], [r[2] for r in results]


# --- report ---------------------------------------------------------------------------------


def _med(samples: list[Sample], value: Callable[[Sample], float]) -> float:
    return statistics.median(value(s) for s in samples)


def _rate(sample: Sample) -> float:
    return sample.rate


def _line(label: str, samples: list[Sample], unit: str, cpu: tuple[str, str], extra: str) -> str:
    rates = [s.rate for s in samples]
    client = _med(samples, lambda s: s.client_cpu)
    per_item = _med(samples, lambda s: s.client_cpu / s.items) * 1e6
    return (
        f"  {label:<9} {statistics.median(rates):6.0f} {unit}/s "
        f"(min {min(rates):.0f}, max {max(rates):.0f}){extra}; cpu {cpu[0]} {client:.2f} s "
        f"({per_item:.0f} us/{unit[:-1]}), {cpu[1]} {_med(samples, lambda s: s.server_cpu):.2f} s"
    )


def report_crawl(args: argparse.Namespace, sdk: list[Sample], bare: list[Sample]) -> None:
    print(
        f"crawl: generic.html on the fixture site, {sdk[0].items} pages answered 2xx per crawl, "
        f"{args.concurrency} requests in flight, TRAWL_CRAWLER_MAX_RETRIES={args.retries}, "
        f"{args.rounds} rounds (medians; window = site's first request to last response)"
    )
    records = _med(sdk, lambda s: s.records / s.seconds)
    window, wall = _med(sdk, lambda s: s.seconds), _med(sdk, lambda s: s.wall)
    extra = f", {records:.0f} records/s; window {window:.2f} s, process {wall:.2f} s"
    print(_line("sdk", sdk, "pages", ("crawler", "site"), extra))
    extra = f"; window {_med(bare, lambda s: s.seconds):.2f} s"
    print(_line("bare", bare, "pages", ("httpx", "site"), extra))
    print(f"  sdk/bare pages/s x{_med(sdk, _rate) / _med(bare, _rate):.2f}")


def report_forward(
    args: argparse.Namespace, forwarder: list[Sample], bare: list[Sample], startup: list[float]
) -> None:
    print(
        f"forward: {args.records} records from the buffer into Kinesis (moto, {args.shards} "
        f"shards), {args.rounds} rounds (medians)"
    )
    start = statistics.median(startup)
    steady = _med(forwarder, lambda s: s.items / (s.seconds - start))
    extra = f", {steady:.0f} records/s less its {start:.2f} s start-up"
    print(_line("forwarder", forwarder, "records", ("forwarder", "moto"), extra))
    print(_line("bare", bare, "records", ("boto3", "moto"), ""))
    base = _med(bare, _rate)
    print(
        f"  forwarder/bare records/s x{_med(forwarder, _rate) / base:.2f} "
        f"(x{steady / base:.2f} less start-up)"
    )


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="trawl-bench-crawl-") as tmp:
        sdk, bare = await bench_crawl(args, Path(tmp))
        report_crawl(args, sdk, bare)
        forwarder, put, startup = await bench_forward(args, Path(tmp))
        report_forward(args, forwarder, put, startup)
    print(f"took {time.perf_counter() - started:.0f} s")


def cli() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == SERVE_SITE:
        serve_site(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=20_000, help="records to forward")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument("--retries", type=int, default=0, help="TRAWL_CRAWLER_MAX_RETRIES")
    parser.add_argument("--shards", type=int, default=4)
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
