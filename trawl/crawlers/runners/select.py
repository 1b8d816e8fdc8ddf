"""Chooses the crawler runner from settings: subprocesses locally, Kubernetes Jobs in production."""

from __future__ import annotations

from trawl.config import Settings
from trawl.crawlers.runners.base import CrawlerRunner
from trawl.crawlers.runners.subprocess_runner import SubprocessRunner


def make_runner(settings: Settings) -> CrawlerRunner:
    if settings.runner == "subprocess":
        return SubprocessRunner(settings.runs_dir)
    if settings.runner == "kubernetes":
        return _kubernetes_runner(settings)
    raise ValueError(
        f"unknown crawler runner {settings.runner!r} in setting TRAWL_RUNNER: "
        "expected 'subprocess' or 'kubernetes'"
    )


def _kubernetes_runner(settings: Settings) -> CrawlerRunner:
    # Imported here so local workers never load the Kubernetes client.
    from kubernetes import client, config

    from trawl.crawlers.runners.kubernetes_runner import KubernetesRunner, PodOptions

    configuration = client.Configuration()
    # The client's config loaders carry no annotations.
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except config.ConfigException:
        # Outside a cluster (a developer pointing a worker at one): use ~/.kube/config.
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return KubernetesRunner(
        client.ApiClient(configuration),
        settings.kubernetes_namespace,
        settings.kubernetes_job_ttl_seconds,
        PodOptions.from_settings(settings),
    )
