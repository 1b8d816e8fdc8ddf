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
