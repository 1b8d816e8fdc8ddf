"""Activities of the delivery workflows. They read the run's delivery plan (secrets decrypted)
over gRPC with a system token, so no secret ever enters workflow history; they export the
dataset (the very bytes `exportDataset` gives), fetch it from S3 into a temporary file and
hand it to the destination's sender. Each attempt records itself on the run's delivery."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from trawl.config import Settings
from trawl.delivery.destination_config import build_destination
from trawl.delivery.media import DeliveryError
from trawl.delivery.media.sender import DeliveryContext, DeliveryFile
from trawl.delivery.media.senders import sender_for
from trawl.events.aws import aws_client
from trawl.grpc_services.clients import DatasetsClient, ReportsClient, RunsClient, ServiceError
from trawl.grpc_services.gen.datasets.v1 import datasets_pb2 as dpb
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb
from trawl.tenants.system_token import SystemTokenProvider

log = logging.getLogger("trawl.delivery")

DELIVERY_ERROR_TYPE = "DeliveryError"
# What the service says when asked again the same way: trying later does not help.
# Errors another try cannot mend (PRECONDITION_FAILED: a destination secret that no
# configured key decrypts), so the workflow fails at once instead of retrying forever.
FINAL_CODES = (
    "INVALID_INPUT",
    "PERMISSION_DENIED",
    "UNAUTHENTICATED",
    "NOT_FOUND",
    "PRECONDITION_FAILED",
)


@dataclass(frozen=True)
class DeliveryTarget:
    destination_id: str
    medium: str


@dataclass(frozen=True)
class DeliveryTargets:
    run_state: str  # RunState name; only SUCCEEDED runs are delivered
    destinations: list[DeliveryTarget] = field(default_factory=list)


@dataclass(frozen=True)
class DeliverRequest:
    run_id: str
    destination_id: str
    medium: str


@dataclass(frozen=True)
class DeliveryRecord:
    run_id: str
    destination_id: str
    medium: str
    state: str  # DeliveryState name
    attempt: int = 0
    error: str = ""
    location: str = ""


class DeliveryActivities:
    def __init__(
        self,
        settings: Settings,
        runs: RunsClient,
        reports: ReportsClient,
        exports: DatasetsClient,
        tokens: SystemTokenProvider,
    ) -> None:
        self.settings = settings
        self.runs = runs
        self.reports = reports
        self.exports = exports
        self.tokens = tokens
        self._s3: Any = None

    async def _call(self, client: Any, method: Any, request: Any) -> Any:
        try:
            return await client.call(method, request, token=await self.tokens.token())
        except ServiceError as error:
            if error.code in FINAL_CODES:
                raise ApplicationError(str(error), type=error.code, non_retryable=True) from None
            raise

    async def _plan(self, run_id: str) -> pb.DeliveryPlan:
        plan: pb.DeliveryPlan = await self._call(
            self.reports,
            self.reports.stub.GetDeliveryPlan,
            pb.GetDeliveryPlanRequest(run_id=run_id),
        )
        return plan

    @activity.defn(name="delivery_targets")
    async def targets(self, run_id: str) -> DeliveryTargets:
        """The run's destinations; each gets a PENDING delivery when the run succeeded."""
        plan = await self._plan(run_id)
        state = pb.RunState.Name(plan.run.state).removeprefix("RUN_STATE_")
        targets = [
            DeliveryTarget(p.destination.id, p.destination.medium) for p in plan.destinations
        ]
        if state != "SUCCEEDED":
            return DeliveryTargets(state)
        for target in targets:
            await self.record(
                DeliveryRecord(run_id, target.destination_id, target.medium, "PENDING")
            )
        return DeliveryTargets(state, targets)

    @activity.defn(name="record_delivery")
    async def record(self, record: DeliveryRecord) -> None:
        await self._call(
            self.runs,
            self.runs.stub.RecordDeliveryAttempt,
            pb.RecordDeliveryAttemptRequest(
                run_id=record.run_id,
                destination_id=record.destination_id,
                medium=record.medium,
                state=f"DELIVERY_STATE_{record.state}",
                attempt=record.attempt,
                error=record.error[:2000],
                location=record.location,
            ),
        )

    @activity.defn(name="deliver_to_destination")
    async def deliver(self, request: DeliverRequest) -> str:
        """One attempt; returns the receipt's location. A DeliveryError becomes an
        ApplicationError of type DeliveryError, non-retryable when the sender says so."""
        attempt = activity.info().attempt
        record = DeliveryRecord(request.run_id, request.destination_id, request.medium, "")
        await self.record(_with(record, "DELIVERING", attempt))
        try:
            return await self._deliver_once(request)
        except DeliveryError as error:
            await self.record(_with(record, "DELIVERING", attempt, error.message))
            raise ApplicationError(
                error.message, type=DELIVERY_ERROR_TYPE, non_retryable=not error.retryable
            ) from None
        except (ApplicationError, ServiceError) as error:
            await self.record(_with(record, "DELIVERING", attempt, str(error)))
            raise

    async def _deliver_once(self, request: DeliverRequest) -> str:
        plan = await self._plan(request.run_id)
        planned = next(
            (p for p in plan.destinations if p.destination.id == request.destination_id), None
        )
        if planned is None:
            raise ApplicationError(
                "the destination no longer exists on the run's report",
                type="NOT_FOUND",
                non_retryable=True,
            )
        target = planned.destination
        exported: dpb.DatasetExport = await self._call(
            self.exports,
            self.exports.stub.ExportRunForDelivery,
            dpb.ExportRunRecordsRequest(
                run_id=request.run_id, format=target.format, compression=target.compression
            ),
        )
        path = await self._download(exported)
        try:
            destination = build_destination(
                target.medium, _config(target.config_json), dict(planned.secrets)
            )
            receipt = await sender_for(destination).send(
                _file(path, planned.file_name or exported.file_name, exported),
                _context(plan, target, exported),
            )
        finally:
            path.unlink(missing_ok=True)
        return receipt.location

    async def _download(self, exported: dpb.DatasetExport) -> Path:
        folder = self.settings.data_dir / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"delivery-{uuid.uuid4().hex}"
        if self._s3 is None:
            self._s3 = aws_client(self.settings, "s3")
        await asyncio.to_thread(self._s3.download_file, exported.bucket, exported.key, str(path))
        return path

    def all(self) -> list[Any]:
        return [self.targets, self.record, self.deliver]


def _with(record: DeliveryRecord, state: str, attempt: int, error: str = "") -> DeliveryRecord:
    return DeliveryRecord(
        record.run_id, record.destination_id, record.medium, state, attempt, error
    )


def _config(config_json: str) -> dict[str, Any]:
    return dict(json.loads(config_json or "{}"))


def _file(path: Path, name: str, exported: dpb.DatasetExport) -> DeliveryFile:
    expires = datetime.now(UTC)
    if exported.HasField("expires_at"):
        expires = exported.expires_at.ToDatetime(tzinfo=UTC)
    return DeliveryFile(
        path=path,
        name=name,
        content_type=exported.content_type,
        size=path.stat().st_size,
        download_url=exported.url,
        url_expires_at=expires,
    )


def _context(
    plan: pb.DeliveryPlan, target: pb.ReportDestination, exported: dpb.DatasetExport
) -> DeliveryContext:
    run = plan.run
    finished = datetime.now(UTC)
    if run.HasField("finished_at"):
        finished = run.finished_at.ToDatetime(tzinfo=UTC)
    return DeliveryContext(
        organization_id=run.organization_id,
        report_id=run.report_id,
        report_name=plan.report_name,
        run_id=run.id,
        records=exported.records,
        format=target.format,
        compression=target.compression,
        finished_at=finished,
    )
