"""The exporter with its stores unreachable: UNAVAILABLE with a message to try again, never
an internal error. Real clients against closed loopback ports (nothing listens there)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.moto import MotoServer, aws_settings
from tests.support.platform import free_port
from trawl.config import Settings
from trawl.domain.datasets.exports import DatasetExporter, ExportTarget
from trawl.domain.datasets.store import RecordStore
from trawl.domain.errors import Unavailable

TARGET = ExportTarget(
    organization_id="org-1",
    project_id="project-1",
    report_id="report-1",
    report_name="Prices",
    run_id="run-1",
    record_schema={"type": "object", "properties": {"id": {"type": "integer"}}},
    finished_at=datetime(2030, 1, 1, tzinfo=UTC),
)


def _settings(tmp_path: Path) -> Settings:
    closed = free_port()
    return Settings(
        data_dir=tmp_path,
        aws_endpoint_url=f"http://127.0.0.1:{closed}",
        mongo_uri=f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=500",
    )


def test_an_unreachable_s3_makes_the_export_unavailable(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    exporter = DatasetExporter(settings, RecordStore(settings))
    with pytest.raises(Unavailable) as refused:
        exporter.export(TARGET, "csv", "none")
    assert "try again" in refused.value.message
    # The failed bucket check is not remembered as done: the next export checks again.
    with pytest.raises(Unavailable):
        exporter.export(TARGET, "csv", "none")


def test_an_unreachable_mongodb_makes_the_export_unavailable(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    settings = aws_settings(
        moto_server.endpoint,
        tmp_path,
        mongo_uri=f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=500",
        records_bucket=f"exports-{free_port()}",
    )
    exporter = DatasetExporter(settings, RecordStore(settings))
    with pytest.raises(Unavailable) as refused:
        exporter.export(TARGET, "csv", "none")
    assert "PyMongoError" in refused.value.message or "ServerSelection" in refused.value.message
