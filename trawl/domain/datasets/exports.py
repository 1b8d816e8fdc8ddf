"""A run's dataset exported to one file in S3, downloaded through a presigned URL.

The records stream from MongoDB (in batches, stable order) through `trawl.exports` into a
temporary file, which is uploaded with a multipart upload: memory stays constant whatever the
run's size. The object key depends only on the run and the options, and the bytes only on the
records (the writers are deterministic), so exporting again rewrites the same object and a
delivery of the same run and options sends byte for byte what a download gives."""

from __future__ import annotations

import logging
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

from botocore.exceptions import BotoCoreError, ClientError
from pymongo.errors import PyMongoError

from trawl.config import Settings
from trawl.domain.datasets.store import RecordStore
from trawl.domain.errors import InvalidInput, Unavailable
from trawl.events.aws import aws_client
from trawl.exports.export import content_type, envelope_of, export_records, file_extension
from trawl.exports.sink import Compression
from trawl.exports.writer import ExportError, ExportFormat
from trawl.stream.sinks.s3_avro import S3AvroWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportTarget:
    """What to export, from the caller's verified access to the run."""

    organization_id: str
    project_id: str
    report_id: str
    report_name: str
    run_id: str
    record_schema: dict[str, Any]
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExportedFile:
    bucket: str
    key: str
    file_name: str
    content_type: str
    size: int
    records: int
    url: str
    expires_at: datetime


def parse_options(export_format: str, compression: str) -> tuple[ExportFormat, Compression]:
    try:
        fmt = ExportFormat(export_format.lower())
    except ValueError:
        choices = ", ".join(f.value for f in ExportFormat)
        raise InvalidInput(
            "format", f"unknown format {export_format!r}; use one of {choices}"
        ) from None
    try:
        packed = Compression((compression or "none").lower())
    except ValueError:
        choices = ", ".join(c.value for c in Compression)
        raise InvalidInput(
            "compression", f"unknown compression {compression!r}; use one of {choices}"
        ) from None
    return fmt, packed


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()[:80] or "report"


def download_name(target: ExportTarget, fmt: ExportFormat, packed: Compression) -> str:
    day = (target.finished_at or datetime.now(UTC)).strftime("%Y-%m-%d")
    return f"{slug(target.report_name)}-{day}-{target.run_id}{file_extension(fmt, packed)}"


def export_key(target: ExportTarget, fmt: ExportFormat, packed: Compression) -> str:
    return (
        f"exports/org={target.organization_id}/project={target.project_id}/"
        f"report={target.report_id}/run={target.run_id}/records{file_extension(fmt, packed)}"
    )


class DatasetExporter:
    def __init__(self, settings: Settings, store: RecordStore) -> None:
        self.settings = settings
        self.store = store
        self._s3: Any = None

    def _client(self) -> Any:
        if self._s3 is None:
            client = aws_client(self.settings, "s3")
            # Kept only once the bucket is there: a failed first check is tried again.
            S3AvroWriter(self.settings, client).ensure_bucket()
            self._s3 = client
        return self._s3

    def export(self, target: ExportTarget, export_format: str, compression: str) -> ExportedFile:
        """Blocking: run it in a worker thread. MongoDB or S3 failing midway is UNAVAILABLE
        (try again), not an internal error."""
        try:
            return self._export(target, export_format, compression)
        except (PyMongoError, BotoCoreError, ClientError) as error:
            log.warning(
                "export=failed org=%s run=%s error=%r", target.organization_id, target.run_id, error
            )
            raise Unavailable(
                f"the export cannot be made right now ({type(error).__name__}); try again"
            ) from None

    def _export(self, target: ExportTarget, export_format: str, compression: str) -> ExportedFile:
        fmt, packed = parse_options(export_format, compression)
        s3 = self._client()
        bucket = self.settings.records_bucket
        key = export_key(target, fmt, packed)
        name = download_name(target, fmt, packed)
        scratch = self.settings.data_dir / "tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=scratch, suffix=file_extension(fmt, packed)) as out:
            records = (
                envelope_of(doc)
                for doc in self.store.iter_run(target.organization_id, target.run_id)
            )
            try:
                stats = export_records(
                    records,
                    fmt,
                    packed,
                    target.record_schema,
                    cast(BinaryIO, out),
                    entry_name=_entry(name),
                )
            except ExportError as error:
                raise InvalidInput(
                    "format", f"the run's records cannot be written as {fmt.value}: {error}"
                ) from None
            out.flush()
            s3.upload_file(
                out.name,
                bucket,
                key,
                ExtraArgs={"ContentType": content_type(fmt, packed)},
            )
        ttl = self.settings.export_url_ttl_seconds
        url = s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{name}"',
            },
            ExpiresIn=ttl,
        )
        return ExportedFile(
            bucket=bucket,
            key=key,
            file_name=name,
            content_type=content_type(fmt, packed),
            size=stats.bytes,
            records=stats.records,
            url=str(url),
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
        )

    def download(self, exported: ExportedFile, path: Path) -> None:
        """The exported object into a local file (a delivery sends that file)."""
        self._client().download_file(exported.bucket, exported.key, str(path))


def _entry(name: str) -> str:
    """The file inside a gzip or zip: the download name without the compression suffix."""
    for suffix in (".gz", ".zip"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
