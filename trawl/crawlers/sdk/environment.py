"""The crawler's side of the environment contract (see
`trawl.crawlers.runners.supervisor.crawler_environment`), read once at start-up.

The worker passes the platform's crawler defaults as TRAWL_CRAWLER_* / TRAWL_BUFFER_* /
TRAWL_RECORD_KEY_FIELDS; absent or empty means the SDK default, a malformed value is an
error so a misconfigured worker is noticed rather than silently ignored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from trawl.crawlers.buffer import DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_RECORDS, RunIdentity
from trawl.crawlers.sdk.fetcher import DEFAULT_USER_AGENT, FetchSettings


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} is not an integer: {value!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} is not a number: {value!r}") from None


def run_dir_of(env: Mapping[str, str]) -> Path:
    return Path(_text(env, "TRAWL_RUN_DIR", "."))


@dataclass(frozen=True, slots=True)
class RuntimeEnvironment:
    identity: RunIdentity
    service_code: str
    raw_parameters: str
    run_dir: Path
    stats_path: Path
    fetch: FetchSettings
    chunk_records: int
    chunk_bytes: int
    record_key_fields: tuple[str, ...]
    log_level: str

    @property
    def buffer_dir(self) -> Path:
        return self.run_dir / "buffer"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RuntimeEnvironment:
        run_dir = run_dir_of(env)
        identity = RunIdentity(
            organization_id=_text(env, "TRAWL_ORGANIZATION_ID", "local"),
            project_id=_text(env, "TRAWL_PROJECT_ID", "local"),
            report_id=_text(env, "TRAWL_REPORT_ID", "local"),
            run_id=_text(env, "TRAWL_RUN_ID", "local"),
            attempt=_int(env, "TRAWL_RUN_ATTEMPT", 1),
        )
        fetch = FetchSettings(
            user_agent=_text(env, "TRAWL_CRAWLER_USER_AGENT", DEFAULT_USER_AGENT),
            proxy_url=_text(env, "TRAWL_CRAWLER_PROXY_URL", "") or None,
            domain_concurrency=max(1, _int(env, "TRAWL_CRAWLER_DOMAIN_CONCURRENCY", 4)),
            domain_delay_seconds=max(0.0, _float(env, "TRAWL_CRAWLER_DOMAIN_DELAY_SECONDS", 0)),
            max_retries=max(0, _int(env, "TRAWL_CRAWLER_MAX_RETRIES", 4)),
        )
        keys = env.get("TRAWL_RECORD_KEY_FIELDS", "")
        return cls(
            identity=identity,
            service_code=_text(env, "TRAWL_SERVICE_CODE", "local"),
            raw_parameters=_text(env, "TRAWL_RUN_PARAMETERS", "{}"),
            run_dir=run_dir,
            stats_path=Path(_text(env, "TRAWL_RUN_STATS", str(run_dir / "stats.json"))),
            fetch=fetch,
            chunk_records=max(1, _int(env, "TRAWL_BUFFER_CHUNK_RECORDS", DEFAULT_CHUNK_RECORDS)),
            chunk_bytes=max(1, _int(env, "TRAWL_BUFFER_CHUNK_BYTES", DEFAULT_CHUNK_BYTES)),
            record_key_fields=tuple(k.strip() for k in keys.split(",") if k.strip()),
            log_level=_text(env, "TRAWL_CRAWLER_LOG_LEVEL", "INFO"),
        )
