"""In a pod, whether the crawler container still lives, as the forwarder container sees it.

The pod's crawler entry (trawl.crawlers.runners.pod_entry) closes the buffer whenever its
crawler ends, and touches `crawler.heartbeat` every second while it lives. When the crawler
container dies whole (an OOM kill of its process group, a SIGKILL of the entry), nobody is left
to close the buffer: the forwarder, seeing no DONE and no heartbeat for `stale_seconds`, does
the dead writer's part. Before the first heartbeat it waits `start_grace_seconds` instead
(much longer: kubelet may start the crawler container late, after an image pull retried), and
a crawler container that does start after a take-over finds DONE and refuses to run, so no
record is ever written into a buffer nobody ships. It seals
the open chunk, writes DONE, tells the run's log, and closes the log, so everything emitted is
shipped and the pod can end. Only in a pod: a local supervisor closes the buffer itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from trawl.crawlers.buffer_reader import buffer_dir, mark_done, seal_abandoned
from trawl.crawlers.forwarder.layout import HEARTBEAT_FILE, LOGS_CLOSED, LOGS_FILE
from trawl.crawlers.forwarder.pacing import Notices
from trawl.crawlers.runners.attempt import utc_now
from trawl.crawlers.runners.log_capture import LogSink

CONTAINER_LOST = "crawler_container_lost"
DEFAULT_STALE_SECONDS = 15.0
DEFAULT_START_GRACE_SECONDS = 600.0


class CrawlerContainerWatch:
    """`lost()` is asked by both shipping threads while they wait for the crawler's end."""

    def __init__(
        self,
        attempt_dir: Path,
        stale_seconds: float,
        notices: Notices,
        *,
        clock: Callable[[], float] = time.time,
        start_grace_seconds: float = DEFAULT_START_GRACE_SECONDS,
    ) -> None:
        self.heartbeat = attempt_dir / HEARTBEAT_FILE
        self.buffer = buffer_dir(attempt_dir)
        self.logs = attempt_dir / LOGS_FILE
        self.logs_closed = attempt_dir / LOGS_CLOSED
        self.stale_seconds = stale_seconds
        self.start_grace_seconds = start_grace_seconds
        self.notices = notices
        self.clock = clock
        # Wall clock on both sides: the heartbeat's mtime is set by the same node's clock.
        self._started = clock()
        self._lock = threading.Lock()
        self._lost = False

    def lost(self) -> bool:
        """True once the crawler container is known dead and its buffer and log are closed."""
        with self._lock:
            if self._lost:
                return True
            beat = self._last_heartbeat()
            silent = self.clock() - (self._started if beat is None else max(beat, self._started))
            if silent <= (self.start_grace_seconds if beat is None else self.stale_seconds):
                return False
            self._take_over(silent)
            self._lost = True
            return True

    def _last_heartbeat(self) -> float | None:
        try:
            return self.heartbeat.stat().st_mtime
        except FileNotFoundError:
            return None

    def _take_over(self, silent: float) -> None:
        seal_abandoned(self.buffer)
        closed_buffer = mark_done(self.buffer)
        what = "its record buffer" if closed_buffer else "its log"
        message = (
            f"the crawler container stopped without closing {what} (no sign of life for "
            f"{silent:.0f} s: killed, out of memory, or never started); the record forwarder "
            "closed it and ships every record emitted before"
        )
        self.notices.emit("WARNING", message, event=CONTAINER_LOST)
        if self.logs_closed.exists():
            return  # the log may be shipped already: the notice stays in the forwarder's output
        sink = LogSink.resume(self.logs)
        sink.write("forwarder", message, "WARNING")
        sink.close()
        self.logs_closed.write_text(utc_now())
