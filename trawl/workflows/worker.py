"""The Temporal worker: runs the run and schedule workflows and their activities.
`trawl worker` runs one on its own; `trawl up` runs one inside the embedded platform."""

from __future__ import annotations

import asyncio
import logging

import grpc
from temporalio.client import Client
from temporalio.worker import Worker

from trawl.config import Settings
from trawl.crawlers.runners.base import CrawlerRunner
from trawl.crawlers.runners.select import make_runner
from trawl.grpc_services.clients import DatasetsClient, ReportsClient, RunsClient
from trawl.tenants.system_token import SystemTokenProvider
from trawl.workflows.activities import RunActivities
from trawl.workflows.deliver_dataset import DeliverDatasetWorkflow, DeliverToDestinationWorkflow
from trawl.workflows.delivery_activities import DeliveryActivities
from trawl.workflows.handler import EventHandler
from trawl.workflows.reconciler import RunReconciler
from trawl.workflows.run_report import RunReportWorkflow
from trawl.workflows.scheduled import ScheduledRunWorkflow, SyncReportScheduleWorkflow
from trawl.workflows.schedules import ScheduleSync

log = logging.getLogger("trawl.worker")


async def connect_temporal(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_target, namespace=settings.temporal_namespace)


class RunWorker:
    """A worker with its own gRPC channel and system token; `close()` releases both."""

    def __init__(
        self, settings: Settings, client: Client, runner: CrawlerRunner | None = None
    ) -> None:
        self.settings = settings
        self.channel = grpc.aio.insecure_channel(settings.reports_target)
        self.tokens = SystemTokenProvider(settings)
        runs = RunsClient(self.channel, settings.grpc_deadline_seconds)
        self.reconciler = RunReconciler(
            settings, runs, self.tokens, EventHandler(client, settings, audit=None)
        )
        self.activities = RunActivities(
            settings,
            runs,
            self.tokens,
            runner or make_runner(settings),
            ScheduleSync(client, settings.temporal_task_queue),
        )
        self.deliveries = DeliveryActivities(
            settings,
            runs,
            ReportsClient(self.channel, settings.grpc_deadline_seconds),
            DatasetsClient(
                self.channel, max(settings.grpc_deadline_seconds, settings.export_call_seconds)
            ),
            self.tokens,
        )
        self.worker = Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=[
                RunReportWorkflow,
                ScheduledRunWorkflow,
                SyncReportScheduleWorkflow,
                DeliverDatasetWorkflow,
                DeliverToDestinationWorkflow,
            ],
            activities=self.activities.all() + self.deliveries.all(),
            max_concurrent_activities=200,
        )

    async def run_until(self, stop: asyncio.Event) -> None:
        task = asyncio.create_task(self.worker.run())
        sweeps = asyncio.create_task(self.reconciler.run(stop))
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            waiter.cancel()
            sweeps.cancel()
            task.result()
            return
        await sweeps
        await self.worker.shutdown()
        await task

    async def close(self) -> None:
        await self.tokens.aclose()
        await self.channel.close()


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    client = await connect_temporal(settings)
    worker = RunWorker(settings, client)
    log.info(
        "worker=started task_queue=%s temporal=%s",
        settings.temporal_task_queue,
        settings.temporal_target,
    )
    try:
        await worker.run_until(stop)
    finally:
        await worker.close()
