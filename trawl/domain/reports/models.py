"""Service codes (the crawler registry), reports, runs and run attempts.

JSON documents (schemas, parameters, delivery settings) are stored as text: the same column
type on SQLite and MariaDB, parsed by the service that owns them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from trawl.domain.db import Base, IdMixin, LongText, TenantOwned, UTCDateTime


def dump_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def dump_schema_json(schema: Any) -> str:
    """A JSON Schema as written: the order of `properties` is the column order of exports."""
    return json.dumps(schema, separators=(",", ":"))


class ServiceCode(IdMixin, Base):
    """A registered crawler. Platform-wide (not tenant-owned); staff write, everyone reads."""

    __tablename__ = "service_codes"

    code: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    image: Mapped[str] = mapped_column(String(300), nullable=False)
    version: Mapped[str] = mapped_column(String(100), nullable=False)
    # Python module the local subprocess runner starts with `python -m`.
    entry_point: Mapped[str] = mapped_column(String(200), nullable=False)
    parameters_schema: Mapped[str] = mapped_column(LongText, nullable=False)
    record_schema: Mapped[str] = mapped_column(LongText, nullable=False)
    default_timeout_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    cpu: Mapped[str] = mapped_column(String(20), nullable=False)
    memory: Mapped[str] = mapped_column(String(20), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def parameters_schema_doc(self) -> dict[str, Any]:
        return dict(json.loads(self.parameters_schema))

    @property
    def record_schema_doc(self) -> dict[str, Any]:
        return dict(json.loads(self.record_schema))


class Report(TenantOwned, Base):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("project_id", "name", name="uq_report_name"),
        Index("ix_reports_project_state", "project_id", "state"),
    )

    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    service_code: Mapped[str] = mapped_column(
        String(100), ForeignKey("service_codes.code"), nullable=False, index=True
    )
    parameters: Mapped[str] = mapped_column(LongText, nullable=False, default="{}")
    record_schema: Mapped[str] = mapped_column(LongText, nullable=False)
    timeout_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    retry_max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    retry_backoff_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Legacy free-form settings, kept as given; destinations live in report_destinations.
    delivery: Mapped[str] = mapped_column(LongText, nullable=False, default="{}")
    # JSON list of record field names that identify a record; [] means the whole record.
    record_key_fields: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    schedule_cron: Mapped[str | None] = mapped_column(String(120))
    schedule_timezone: Mapped[str | None] = mapped_column(String(64))
    schedule_paused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_by: Mapped[str | None] = mapped_column(String(36))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def parameters_doc(self) -> dict[str, Any]:
        return dict(json.loads(self.parameters))

    @property
    def record_schema_doc(self) -> dict[str, Any]:
        return dict(json.loads(self.record_schema))

    @property
    def delivery_doc(self) -> dict[str, Any]:
        return dict(json.loads(self.delivery))

    @property
    def key_fields(self) -> list[str]:
        return [str(f) for f in json.loads(self.record_key_fields or "[]")]


class Run(TenantOwned, Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_org_state", "organization_id", "state"),
        Index("ix_runs_report_state", "report_id", "state"),
    )

    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    # 0 until the first attempt starts.
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    retry_backoff_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    timeout_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    trigger_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    # The user id for manual runs and reruns, the schedule id for scheduled ones.
    triggered_by: Mapped[str] = mapped_column(String(255), nullable=False)
    # Makes a redelivered schedule fire create one run, not two.
    trigger_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    rerun_of_id: Mapped[str | None] = mapped_column(String(36))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    running_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pages: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    records: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # The stream job's totals (it sends absolute values, not deltas).
    stream_accepted: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    stream_rejected: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    stream_duplicates: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    stream_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # The highest attempt whose records the stream job has all taken in.
    stream_complete_attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    stream_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Terminal and every record of the last attempt taken in; set once (RunDatasetReady).
    dataset_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RunAttempt(TenantOwned, Base):
    __tablename__ = "run_attempts"
    __table_args__ = (UniqueConstraint("run_id", "attempt", name="uq_run_attempt"),)

    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("runs.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    running_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_reason: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)


class ReportDestination(TenantOwned, Base):
    """Where a report's runs are delivered: one medium, file format and name each.

    `config` is the medium's plain settings (JSON, shown to readers); `secrets` is the
    encrypted JSON of its secrets (see trawl/domain/secrets.py) and `secret_names` lists
    which are set, so reads never decrypt."""

    __tablename__ = "report_destinations"
    __table_args__ = (Index("ix_report_destinations_report", "report_id", "position"),)

    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("reports.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    medium: Mapped[str] = mapped_column(String(16), nullable=False)
    format: Mapped[str] = mapped_column(String(16), nullable=False)
    compression: Mapped[str] = mapped_column(String(8), nullable=False)
    file_name_template: Mapped[str] = mapped_column(String(255), nullable=False)
    config: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    secrets: Mapped[str | None] = mapped_column(Text)
    secret_names: Mapped[str] = mapped_column(String(255), nullable=False, default="[]")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def config_doc(self) -> dict[str, Any]:
        return dict(json.loads(self.config))

    @property
    def secrets_set(self) -> list[str]:
        return [str(n) for n in json.loads(self.secret_names or "[]")]
