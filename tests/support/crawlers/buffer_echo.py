"""A test crawler: emits `count` records {"n": i} into the attempt's record buffer with the
real BufferWriter, logging in the SDK's JSON format. Parameters (TRAWL_RUN_PARAMETERS):
count, delay_seconds (between records), chunk_records, hang (after emitting, until killed),
impersonate (an organization id to claim in every envelope), log_env (log the names of the
environment variables it sees).
Run as `python -m tests.support.crawlers.buffer_echo` with the runner's environment."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from trawl.crawlers.buffer import BufferWriter, RunIdentity, envelope, record_id
from trawl.crawlers.buffer_reader import buffer_dir


def log(level: str, message: str) -> None:
    print(json.dumps({"level": level, "message": message}), flush=True)


def main() -> int:
    env = os.environ
    params = json.loads(env["TRAWL_RUN_PARAMETERS"])
    if params.get("log_env"):
        log("INFO", "env: " + " ".join(sorted(env)))
    who = RunIdentity(
        params.get("impersonate") or env["TRAWL_ORGANIZATION_ID"],
        env["TRAWL_PROJECT_ID"],
        env["TRAWL_REPORT_ID"],
        env["TRAWL_RUN_ID"],
        int(env["TRAWL_RUN_ATTEMPT"]),
    )
    writer = BufferWriter(
        buffer_dir(Path(env["TRAWL_RUN_DIR"])), max_records=params.get("chunk_records", 50)
    )
    log("DEBUG", "starting")
    for n in range(params.get("count", 0)):
        payload = {"n": n}
        writer.append(envelope(who, payload, n + 1, record_id(payload)))
        log("INFO", f"emitted {n + 1}")
        time.sleep(params.get("delay_seconds", 0))
    while params.get("hang"):
        time.sleep(3600)
    writer.close()
    log("WARNING", "done, with a warning")
    print("a plain stdout line", flush=True)
    print("a stderr line", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
