"""Workflow and activity inputs: one dataclass each, as Temporal's samples do, so a field
can be added without breaking running workflows."""

from __future__ import annotations

from dataclasses import dataclass

RUN_WORKFLOW = "RunReportWorkflow"
SCHEDULED_RUN_WORKFLOW = "ScheduledRunWorkflow"
SYNC_SCHEDULE_WORKFLOW = "SyncReportScheduleWorkflow"
CANCEL_SIGNAL = "cancel"


def run_workflow_id(run_id: str) -> str:
    """One workflow per run, whatever the number of times its RunRequested is delivered."""
    return f"run-{run_id}"


def schedule_id(report_id: str) -> str:
    return f"report-schedule-{report_id}"


@dataclass(frozen=True)
class RunInput:
    run_id: str
    organization_id: str


@dataclass(frozen=True)
class ScheduledRunInput:
    report_id: str
    organization_id: str


@dataclass(frozen=True)
class SyncScheduleInput:
    report_id: str
    organization_id: str


DELIVER_DATASET_WORKFLOW = "DeliverDatasetWorkflow"
DELIVER_TO_DESTINATION_WORKFLOW = "DeliverToDestinationWorkflow"


def deliver_workflow_id(run_id: str) -> str:
    return f"deliver-{run_id}"


def deliver_destination_workflow_id(run_id: str, destination_id: str, redelivery: str = "") -> str:
    """The first delivery's child, or (with the RedeliveryRequested event id) a redelivery."""
    base = f"deliver-{run_id}-{destination_id}"
    return f"{base}-r{redelivery}" if redelivery else base


@dataclass(frozen=True)
class DeliveryRetry:
    """How a destination is retried (from the settings, fixed when the workflow starts)."""

    initial_seconds: float = 5.0
    max_attempts: int = 6


@dataclass(frozen=True)
class DeliverDatasetInput:
    run_id: str
    organization_id: str
    retry: DeliveryRetry = DeliveryRetry()


@dataclass(frozen=True)
class DeliverToDestinationInput:
    run_id: str
    destination_id: str
    medium: str
    retry: DeliveryRetry = DeliveryRetry()
