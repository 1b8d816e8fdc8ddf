"""The two publishers, paced alike: one thread per run, its i-th value sent at
start + offset + i/rate, each run offset by a fraction of the interval so the runs do not
publish in bursts. A publish that takes longer than the interval delays the next one (as a
stream job's next report waits for the last), and its send time is the time it really began.

- stats: `ReportStreamStats` with accepted=k, the system gRPC call the stream job makes; the
  reports service stores the totals, then publishes the whole Run on `trawl:run:<id>` (and
  the project's channel).
- bare: the same message (`encode_run` of the run with stream.accepted=k) PUBLISHed as JSON
  straight to Redis on a channel of the bench's own."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.live.run_updates import encode_run
from trawl.stream.services import StreamServices

Publish = Callable[[int], None]


@dataclass
class Sent:
    """One run's publishes: accepted value -> the monotonic time its publish began, and how
    long each publish call took."""

    at: dict[int, float] = field(default_factory=dict)
    call_seconds: list[float] = field(default_factory=list)
    error: BaseException | None = None


def bare_channel(run_id: str) -> str:
    return f"bench-live-bare:run:{run_id}"


def stats_publisher(services: StreamServices, run_id: str, organization_id: str) -> Publish:
    def publish(accepted: int) -> None:
        services.report_stream_stats(
            run_id,
            organization_id,
            accepted=accepted,
            rejected=0,
            duplicates=0,
            stored_bytes=0,
            complete_attempt=0,
        )

    return publish


def bare_publisher(client: redis.Redis, template: pb.Run) -> Publish:
    channel = bare_channel(template.id)

    def publish(accepted: int) -> None:
        run = pb.Run()
        run.CopyFrom(template)
        run.stream.accepted = accepted
        client.publish(channel, json.dumps(encode_run(run), separators=(",", ":")))

    return publish


def _paced(publish: Publish, values: range, start: float, interval: float, sent: Sent) -> None:
    try:
        for i, k in enumerate(values):
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.monotonic()
            publish(k)
            sent.at[k] = began
            sent.call_seconds.append(time.monotonic() - began)
    except BaseException as error:  # reported by publish_all, in the main thread
        sent.error = error


def publish_all(
    publishers: dict[str, Publish], values: range, rate: float, start: float
) -> dict[str, Sent]:
    """Publishes `values` in order on every run at `rate` per second from `start` (monotonic);
    returns when every publisher is done. Values go up across passes, so a subscriber's
    first value (the run's current state) is never taken for one of this pass. Blocking:
    call it in a thread."""
    interval = 1.0 / rate
    sent = {key: Sent() for key in publishers}
    threads = [
        threading.Thread(
            target=_paced,
            args=(publish, values, start + i * interval / len(publishers), interval, sent[key]),
            name=f"bench-live-publish-{i}",
            daemon=True,
        )
        for i, (key, publish) in enumerate(publishers.items())
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key, one in sent.items():
        if one.error is not None:
            raise RuntimeError(f"publishing on run {key} failed") from one.error
    return sent
