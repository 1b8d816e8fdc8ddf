"""The one settings object. Every endpoint and limit is here, with embedded defaults,
so a fresh checkout runs with no configuration; override with `TRAWL_<NAME>` env vars."""

from __future__ import annotations

import importlib.metadata
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PLATFORM_IMAGE = "ghcr.io/trawl/platform"


def _platform_version() -> str:
    """This code's version, which tags the platform image built from it."""
    try:
        return importlib.metadata.version("trawl")
    except importlib.metadata.PackageNotFoundError:
        return "latest"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRAWL_", env_file=None, extra="ignore")

    # Where the embedded platform keeps its state (SQLite file, issuer key, logs).
    data_dir: Path = Path(".data")

    # Relational database. Empty means the embedded SQLite file under data_dir.
    db_url: str = ""
    db_echo: bool = False

    # GraphQL gateway.
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    graphql_introspection: bool = True
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    page_size_default: int = 20
    # Adds `extensions.trawl.grpcCalls` to responses (tests and benchmarks only).
    graphql_debug_stats: bool = False
    page_size_max: int = 100

    # gRPC services. Embedded: one process hosts every service on grpc_port; in production
    # each address points at its own deployment.
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    accounts_address: str = ""
    projects_address: str = ""
    reports_address: str = ""
    grpc_deadline_seconds: float = 10.0

    # Auth0 (or the local issuer, which serves the same JWKS/token shape).
    auth0_domain: str = ""  # empty: the local issuer at issuer_host:issuer_port
    auth0_audience: str = "https://api.trawl.local"
    auth0_org_claim: str = "https://trawl.dev/org_id"
    auth0_email_claim: str = "https://trawl.dev/email"
    jwks_cache_seconds: int = 600
    jwks_refetch_min_interval_seconds: float = 30.0
    token_leeway_seconds: int = 30
    platform_staff_permission: str = "trawl:staff"

    # The local Auth0-shaped issuer (embedded and tests only).
    issuer_host: str = "127.0.0.1"
    issuer_port: int = 8001
    issuer_token_ttl_seconds: int = 3600

    # Tenancy rules.
    invitation_ttl_hours: int = 168
    # Runs active at once per organization (QUEUED..CANCELLING); staff override per org.
    max_concurrent_runs: int = 5

    # Platform components (workers, schedulers) call services with a client-credentials
    # token carrying this permission; in production an Auth0 machine-to-machine client.
    system_permission: str = "trawl:system"
    system_client_id: str = "trawl-system"
    system_client_secret: str = ""

    # AWS: EventBridge, SQS, DynamoDB, later S3 and Kinesis. Empty endpoint: the embedded
    # moto server at aws_host:aws_port; in production leave aws_endpoint_url empty and set
    # aws_use_embedded=false so boto3 uses AWS and its default credential chain.
    aws_use_embedded: bool = True
    aws_endpoint_url: str = ""
    aws_host: str = "127.0.0.1"
    aws_port: int = 4566
    aws_region: str = "us-east-1"
    event_bus_name: str = "trawl-events"
    event_source: str = "trawl"
    event_rule_name: str = "trawl-events-to-queue"
    event_queue_name: str = "trawl-events"
    audit_table: str = "trawl-audit"
    # Deliveries of one event before it goes to the dead-letter queue. With the poller's
    # backoff (1 s doubling to 60 s) 50 receives are ~45 minutes: an outage of Temporal or
    # DynamoDB shorter than that strands no run.
    event_max_receives: int = 50
    outbox_batch_size: int = 10
    outbox_poll_seconds: float = 0.2
    outbox_retry_max_seconds: float = 10.0

    # Records: crawlers → on-disk buffer → Kinesis; run logs → DynamoDB.
    kinesis_stream: str = "trawl-records"
    kinesis_shards: int = 4
    run_logs_table: str = "trawl-run-logs"
    buffer_chunk_records: int = 500
    buffer_chunk_bytes: int = 4 * 1024 * 1024
    # The stream stage (PyFlink job): records land in MongoDB and as Avro files in S3.
    mongo_uri: str = ""  # empty: the embedded SecantusDB at mongo_host:mongo_port
    mongo_host: str = "127.0.0.1"
    mongo_port: int = 27017
    mongo_database: str = "trawl"
    records_bucket: str = "trawl-records"
    avro_part_records: int = 10000
    # `trawl up` starts SecantusDB (run as a separate process, never imported: GPL) when
    # mongo_uri is empty and this is on.
    mongo_use_embedded: bool = True
    # The job: "kinesis" reads the stream; "files" is the FileSource fallback reading every
    # file under stream_files_dir (for hosts without Kinesis): only whole, sealed chunk files
    # may be renamed in there, each name used once (a path read once is never read again).
    stream_source: str = "kinesis"
    stream_files_dir: str = ""  # empty: stream_dir/inbox; only sealed chunks are renamed in
    stream_parallelism: int = 1
    stream_checkpoint_interval_seconds: float = 2.0
    # GetRecords per call and polls per second per shard (AWS allows 5 per shard).
    stream_poll_records: int = 1000
    stream_polls_per_second: int = 5
    stream_mongo_batch: int = 500
    stream_stats_interval_seconds: float = 1.0
    # De-duplication state lives this long after a run's last record.
    stream_dedupe_ttl_hours: float = 24.0
    stream_bundle_size: int = 1000
    stream_bundle_time_ms: int = 200
    # Dataset exports: files in records_bucket under exports/, downloaded through presigned
    # URLs valid this long (S3 allows at most 7 days).
    export_url_ttl_seconds: int = 24 * 3600
    # How long the gateway waits for an export to be written (exportDataset).
    export_call_seconds: float = 600.0
    # Live updates (GraphQL subscriptions). Empty redis_url: one process hosts everything
    # and an in-process broadcaster fans out; set it when there are several gateways.
    redis_url: str = ""
    live_max_subscriptions_per_connection: int = 20
    live_max_connections_per_user: int = 10
    # Log lines buffered per subscriber before it is told to resume from its last sequence.
    live_log_queue_lines: int = 1000
    # How often a runLogs subscription re-reads the run's logs when no hint arrived.
    live_log_poll_seconds: float = 1.0
    # How often a running crawler's counters reach the reports service.
    progress_interval_seconds: float = 2.0

    # Crawler fetching defaults (a report's parameters may override some).
    crawler_user_agent: str = "TrawlBot/1.0 (+https://trawl.dev/bot)"
    crawler_proxy_url: str = ""
    crawler_domain_concurrency: int = 4
    crawler_domain_delay_seconds: float = 0.0
    crawler_max_retries: int = 4

    # The fixture site `trawl up` serves for the demo report (0: not served).
    demo_site_port: int = 8010

    # Temporal. Empty address: the embedded dev server at temporal_host:temporal_port.
    temporal_address: str = ""
    temporal_host: str = "127.0.0.1"
    temporal_port: int = 7233
    temporal_namespace: str = "default"
    temporal_task_queue: str = "trawl-runs"

    # The reconciler restarts what an event lost for good would leave waiting: QUEUED runs
    # with no workflow, CANCELLING runs nobody finishes. Every worker sweeps (harmless twice).
    reconcile_interval_seconds: float = 60.0
    reconcile_after_seconds: int = 300

    # Crawler runners: "subprocess" (local) or "kubernetes" (production).
    runner: str = "subprocess"
    crawler_stop_grace_seconds: float = 10.0
    crawler_heartbeat_seconds: float = 2.0
    kubernetes_namespace: str = "trawl-crawlers"
    kubernetes_job_ttl_seconds: int = 3600
    # The image of each crawler pod's record forwarder container: platform code, so a platform
    # image, never the service code's. Empty: the service code's image (it has our SDK too).
    kubernetes_forwarder_image: str = f"{PLATFORM_IMAGE}:{_platform_version()}"

    # Report delivery destinations: their secrets (passwords, keys, webhook secrets) are
    # encrypted at rest with this Fernet key (urlsafe base64 of 32 bytes). Empty: a key is
    # generated once under data_dir (fine for one process; set it when several share the DB).
    # Rotation: put the new key here and the old ones in delivery_secrets_previous_keys
    # (comma-separated); old ciphertexts still decrypt and are re-encrypted on the next save.
    delivery_secrets_key: SecretStr = SecretStr("")
    delivery_secrets_previous_keys: SecretStr = SecretStr("")
    # testDestination gives a destination this long to answer (under grpc_deadline_seconds).
    delivery_check_timeout_seconds: float = 8.0
    # The delivery workflow retries each destination with exponential backoff (factor 2, at
    # most 60 s apart) from this first interval, this many attempts in all before FAILED.
    delivery_retry_initial_seconds: float = 5.0
    delivery_max_attempts: int = 6

    log_level: str = "INFO"

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'trawl.db').resolve()}"

    @property
    def issuer_url(self) -> str:
        """The token issuer (`iss`), with the trailing slash Auth0 uses."""
        if self.auth0_domain:
            domain = self.auth0_domain.rstrip("/")
            if not domain.startswith(("http://", "https://")):
                domain = f"https://{domain}"
            return f"{domain}/"
        return f"http://{self.issuer_host}:{self.issuer_port}/"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer_url}.well-known/jwks.json"

    @property
    def grpc_target(self) -> str:
        return f"{self.grpc_host}:{self.grpc_port}"

    @property
    def accounts_target(self) -> str:
        return self.accounts_address or self.grpc_target

    @property
    def projects_target(self) -> str:
        return self.projects_address or self.grpc_target

    @property
    def reports_target(self) -> str:
        return self.reports_address or self.grpc_target

    @property
    def aws_endpoint(self) -> str | None:
        """None means real AWS (boto3 resolves endpoints and credentials itself)."""
        if self.aws_endpoint_url:
            return self.aws_endpoint_url
        if self.aws_use_embedded:
            return f"http://{self.aws_host}:{self.aws_port}"
        return None

    @property
    def mongo_url(self) -> str:
        return self.mongo_uri or f"mongodb://{self.mongo_host}:{self.mongo_port}/"

    @property
    def stream_dir(self) -> Path:
        """The stream job's checkpoints, status file and logs."""
        return self.data_dir / "stream"

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"{self.temporal_host}:{self.temporal_port}"

    @property
    def runs_dir(self) -> Path:
        """Working directories of locally run crawlers, one per run and attempt."""
        return self.data_dir / "runs"

    @property
    def issuer_key_path(self) -> Path:
        return self.data_dir / "issuer" / "signing-key.pem"

    @property
    def delivery_secrets_key_path(self) -> Path:
        """The generated key used when delivery_secrets_key is empty."""
        return self.data_dir / "secrets" / "delivery-secrets.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read once at process start; code below receives the object, never re-reads env."""
    return Settings()
