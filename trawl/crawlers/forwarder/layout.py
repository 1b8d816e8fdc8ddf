"""The files the forwarder shares with whoever runs it (the local supervisor, or a pod's
emptyDir), all in the attempt directory. Standard library only: the supervisor imports it."""

from __future__ import annotations

# Captured output, one JSON line each, written by the supervisor (log_capture.LogLine).
LOGS_FILE = "logs.jsonl"
# Written by the supervisor (or a pod's crawler entry) once it captures no more crawler output.
LOGS_CLOSED = "logs.closed"
# Touched every second by a pod's crawler entry while it lives: when it goes stale with no DONE
# in the buffer, the forwarder knows the crawler container died and closes the buffer itself.
HEARTBEAT_FILE = "crawler.heartbeat"
# The forwarder's counters and resume state (forwarder.progress).
PROGRESS_FILE = "forwarder.json"
# A notice with this `event` tells the supervisor every record is in Kinesis.
RECORDS_DRAINED = "records_drained"
