"""The production runner: each attempt is one Kubernetes Job built from the service code's image.

The Job name is derived from (run id, attempt), so the cluster itself makes `launch`
idempotent (a second create answers 409). Retries belong to the workflow, so the Job never
retries (`backoffLimit: 0`). The official client is synchronous: every call goes through
`asyncio.to_thread`.

The pod is two containers sharing an emptyDir, the run dir, as the local supervisor and its
forwarder share an attempt dir. The crawler container runs the service code's image with the
pod entry (trawl.crawlers.runners.pod_entry) as its command: it runs the crawler, captures its
output into logs.jsonl, passes SIGTERM on, and whenever the crawler ends closes the record
buffer and the log and exits with the crawler's code. The forwarder container runs the
platform's image (`kubernetes_forwarder_image`) in pod mode: it ships the buffer to Kinesis and
logs.jsonl to DynamoDB and exits once both are complete, so a Job completes only with its
records delivered; should the crawler container die whole it closes the buffer itself (on a
stale heartbeat), and on SIGTERM it keeps shipping until done. Only the forwarder gets the AWS
settings. Deleting the Job sends SIGTERM to both: the pod's grace period is the stop grace
(after which the entry kills the crawler) plus the forwarder's drain time."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from trawl.config import Settings, get_settings
from trawl.crawlers.runners.attempt import crawler_environment
from trawl.crawlers.runners.base import CrawlerOutcome, CrawlerSpec
from trawl.crawlers.runners.crawler_process import (
    FORWARDER_ONLY_PREFIXES,
    without_forwarder_settings,
)
from trawl.crawlers.runners.pod_entry import POD_ENTRY_MODULE
from trawl.crawlers.runners.sidecar import FORWARDER_MODULE, drain_seconds

CONTAINER_NAME = "crawler"
FORWARDER_CONTAINER_NAME = "forwarder"
FORWARDER_RESOURCES = {"cpu": "100m", "memory": "128Mi"}
# What the forwarder needs of the run's contract besides its own settings: who the records
# belong to, and where the run dir is.
_FORWARDER_CONTRACT = (
    "TRAWL_RUN_ID",
    "TRAWL_RUN_ATTEMPT",
    "TRAWL_ORGANIZATION_ID",
    "TRAWL_PROJECT_ID",
    "TRAWL_REPORT_ID",
    "TRAWL_SERVICE_CODE",
    "TRAWL_RUN_DIR",
)
# An emptyDir: the crawler's working dir, its record buffer and its captured log.
RUN_DIR = "/var/run/trawl"
MANAGED_BY = "trawl"
JOB_GONE = "the Job disappeared (deleted, or removed by its TTL before its outcome was read)"
MAX_NAME = 63
MAX_REASON_CHARS = 1000
_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_NOT_LABEL = re.compile(r"[^A-Za-z0-9._-]+")

DEADLINE_MARGIN_SECONDS = 120


@dataclass(frozen=True, slots=True)
class PodOptions:
    """What the platform's settings decide for every crawler pod."""

    # Empty: the service code's image.
    forwarder_image: str = Settings.model_fields["kubernetes_forwarder_image"].default
    # How long a stopped crawler has to end before it is killed.
    stop_grace_seconds: float = Settings.model_fields["crawler_stop_grace_seconds"].default

    @classmethod
    def from_settings(cls, settings: Settings) -> PodOptions:
        return cls(settings.kubernetes_forwarder_image, settings.crawler_stop_grace_seconds)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def job_name(spec: CrawlerSpec) -> str:
    """A DNS-1123 label of at most 63 characters, unique per (run id, attempt).

    A hash of the run id is added whenever slugging it lost information (case aside) or it
    had to be shortened, so two distinct runs never share a Job name."""
    slug = re.sub(r"-+", "-", _NOT_DNS.sub("-", spec.run_id.lower())).strip("-")
    suffix = f"-a{spec.attempt}"
    name = f"trawl-{slug}".rstrip("-")
    if slug != spec.run_id.lower() or len(name) + len(suffix) > MAX_NAME:
        keep = MAX_NAME - len(suffix) - 9
        name = f"{name[:keep].rstrip('-')}-{_digest(spec.run_id)}"
    return name + suffix


def label_value(raw: str) -> str:
    """A valid label value (≤63 chars of [A-Za-z0-9._-], alphanumeric at both ends)."""
    value = _NOT_LABEL.sub("-", raw).strip("-_.")
    if value != raw or len(value) > MAX_NAME:
        value = f"{value[: MAX_NAME - 9].strip('-_.')}-{_digest(raw)}".strip("-")
    return value


def job_labels(spec: CrawlerSpec) -> dict[str, str]:
    return {
        "trawl.dev/organization": label_value(spec.organization_id),
        "trawl.dev/project": label_value(spec.project_id),
        "trawl.dev/report": label_value(spec.report_id),
        "trawl.dev/run": label_value(spec.run_id),
        "trawl.dev/attempt": str(spec.attempt),
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def _annotations(spec: CrawlerSpec) -> dict[str, str]:
    # Labels may be shortened; annotations keep the exact ids for people and tooling.
    return {
        "trawl.dev/organization-id": spec.organization_id,
        "trawl.dev/project-id": spec.project_id,
        "trawl.dev/report-id": spec.report_id,
        "trawl.dev/run-id": spec.run_id,
        "trawl.dev/service-code": spec.service_code,
    }


def _image(spec: CrawlerSpec) -> str:
    if not spec.version or "@" in spec.image:
        return spec.image
    return f"{spec.image}:{spec.version}"


def _env_vars(env: dict[str, str]) -> list[client.V1EnvVar]:
    return [client.V1EnvVar(name=key, value=value) for key, value in env.items()]


def _run_env(spec: CrawlerSpec, run_dir: str) -> dict[str, str]:
    return crawler_environment(spec, run_dir, f"{run_dir}/records.jsonl", f"{run_dir}/stats.json")


def _crawler_container(spec: CrawlerSpec, pod: PodOptions, run_dir: str) -> client.V1Container:
    """The service code's image, run through the pod entry; never the forwarder's settings."""
    resources = {"cpu": spec.cpu, "memory": spec.memory}
    grace = ["--stop-grace-seconds", f"{pod.stop_grace_seconds:g}"]
    return client.V1Container(
        name=CONTAINER_NAME,
        image=_image(spec),
        command=["python", "-m", POD_ENTRY_MODULE, *grace, run_dir, spec.entry_point],
        env=_env_vars(without_forwarder_settings(_run_env(spec, run_dir))),
        resources=client.V1ResourceRequirements(requests=resources, limits=dict(resources)),
        volume_mounts=[client.V1VolumeMount(name="run", mount_path=run_dir)],
        working_dir=run_dir,
        # The entry writes the crawler's last stderr lines there: the reason shown for the run.
        termination_message_policy="FallbackToLogsOnError",
    )


def _forwarder_env(spec: CrawlerSpec, run_dir: str) -> dict[str, str]:
    """The run's identity, the forwarder's settings (AWS, Kinesis, run logs), pod mode."""
    env = {
        key: value
        for key, value in _run_env(spec, run_dir).items()
        if key in _FORWARDER_CONTRACT or key.startswith(FORWARDER_ONLY_PREFIXES)
    }
    return env | {"TRAWL_FORWARDER_MODE": "pod"}


def _forwarder_container(spec: CrawlerSpec, pod: PodOptions, run_dir: str) -> client.V1Container:
    return client.V1Container(
        name=FORWARDER_CONTAINER_NAME,
        image=pod.forwarder_image or _image(spec),
        command=["python", "-m", FORWARDER_MODULE, run_dir],
        env=_env_vars(_forwarder_env(spec, run_dir)),
        resources=client.V1ResourceRequirements(
            requests=FORWARDER_RESOURCES, limits=dict(FORWARDER_RESOURCES)
        ),
        volume_mounts=[client.V1VolumeMount(name="run", mount_path=run_dir)],
        working_dir=run_dir,
        termination_message_policy="FallbackToLogsOnError",
    )


def termination_grace_seconds(spec: CrawlerSpec, pod: PodOptions) -> int:
    """SIGTERM to kill: the crawler's stop grace, then the forwarder's time to drain."""
    return math.ceil(pod.stop_grace_seconds) + math.ceil(drain_seconds(spec.env))


DEFAULT_POD = PodOptions()


def build_job(
    spec: CrawlerSpec,
    namespace: str,
    ttl_seconds: int,
    *,
    pod: PodOptions = DEFAULT_POD,
    run_dir: str = RUN_DIR,
) -> client.V1Job:
    """The Job manifest for one attempt: pure, so it is tested without a cluster (and its
    containers run as local processes sharing a temporary `run_dir`)."""
    labels = job_labels(spec)
    pod_spec = client.V1PodSpec(
        restart_policy="Never",
        containers=[
            _crawler_container(spec, pod, run_dir),
            _forwarder_container(spec, pod, run_dir),
        ],
        termination_grace_period_seconds=termination_grace_seconds(spec, pod),
        volumes=[client.V1Volume(name="run", empty_dir=client.V1EmptyDirVolumeSource())],
        # Crawlers fetch the web; they have no business with the cluster's API.
        automount_service_account_token=False,
        enable_service_links=False,
    )
    return client.V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=client.V1ObjectMeta(
            name=job_name(spec),
            namespace=namespace,
            labels=labels,
            annotations=_annotations(spec),
        ),
        spec=client.V1JobSpec(
            backoff_limit=0,
            # The workflow's own timer ends the run as TIMED_OUT and stops the Job; this is
            # the backstop should no worker be around, set later so the two never race.
            active_deadline_seconds=spec.timeout_seconds + DEADLINE_MARGIN_SECONDS,
            ttl_seconds_after_finished=ttl_seconds,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels), spec=pod_spec
            ),
        ),
    )


def _finished_condition(job: client.V1Job) -> Any:
    """The Job's true Complete or Failed condition, if it has finished."""
    status = job.status
    for condition in (status.conditions if status else None) or []:
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return condition
    return None


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:MAX_REASON_CHARS] if lines else ""


class KubernetesRunner:
    """CrawlerRunner backed by batch/v1 Jobs in one namespace."""

    def __init__(
        self,
        api_client: client.ApiClient,
        namespace: str,
        ttl_seconds: int,
        pod: PodOptions | None = None,
    ) -> None:
        self.namespace = namespace
        self.ttl_seconds = ttl_seconds
        # Not given: the process's settings (read once, cached).
        self.pod = pod if pod is not None else PodOptions.from_settings(get_settings())
        self._batch = client.BatchV1Api(api_client)
        self._core = client.CoreV1Api(api_client)

    async def launch(self, spec: CrawlerSpec) -> str:
        """Returns the Job name."""
        return await asyncio.to_thread(self._launch, spec)

    async def outcome(self, spec: CrawlerSpec) -> CrawlerOutcome | None:
        return await asyncio.to_thread(self._outcome, spec)

    async def progress(self, spec: CrawlerSpec) -> dict[str, int] | None:
        """A pod's files are out of reach; its counters come from the stream."""
        return None

    async def stop(self, spec: CrawlerSpec, grace_seconds: float) -> None:
        """Deletes a still running Job and returns. Both containers get SIGTERM: the pod
        entry passes it on to the crawler and kills it after the stop grace period fixed in
        the manifest at launch (`grace_seconds` is the same setting), then closes the buffer;
        the forwarder ships what was buffered meanwhile. Kubelet kills what is left after the
        pod's grace period (stop grace plus drain time); the Job stays readable until then."""
        await asyncio.to_thread(self._stop, spec)

    def _launch(self, spec: CrawlerSpec) -> str:
        job = build_job(spec, self.namespace, self.ttl_seconds, pod=self.pod)
        try:
            self._batch.create_namespaced_job(self.namespace, job)
        except ApiException as exc:
            # 409: this attempt's Job exists already, i.e. an earlier launch got through.
            if exc.status != 409:
                raise
        return job_name(spec)

    def _read(self, spec: CrawlerSpec) -> client.V1Job | None:
        try:
            return self._batch.read_namespaced_job_status(job_name(spec), self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _outcome(self, spec: CrawlerSpec) -> CrawlerOutcome | None:
        job = self._read(spec)
        if job is None:
            return CrawlerOutcome(succeeded=False, exit_code=None, reason=JOB_GONE)
        condition = _finished_condition(job)
        succeeded = (job.status.succeeded or 0) if job.status else 0
        if succeeded > 0 or (condition is not None and condition.type == "Complete"):
            return CrawlerOutcome(succeeded=True, exit_code=0)
        failed = (job.status.failed or 0) if job.status else 0
        if condition is None and failed == 0:
            return None
        if condition is not None and condition.reason == "DeadlineExceeded":
            reason = f"the crawler hit its deadline of {spec.timeout_seconds} s and was stopped"
            return CrawlerOutcome(succeeded=False, exit_code=None, reason=reason)
        return self._failure(spec, condition)

    def _failure(self, spec: CrawlerSpec, condition: Any) -> CrawlerOutcome:
        """Prefers the crawler's own last words (its termination message) to the Job's; a
        crawler that succeeded with a failed forwarder means records not delivered."""
        terminated = self._terminated_containers(spec)
        exit_code, message = terminated.get(CONTAINER_NAME, (None, None))
        forwarder_code, forwarder_message = terminated.get(FORWARDER_CONTAINER_NAME, (None, None))
        if exit_code == 0 and forwarder_code not in (None, 0):
            last = _last_line(forwarder_message)
            reason = (
                f"records not delivered: the record forwarder exited with code {forwarder_code}"
            )
            return CrawlerOutcome(False, forwarder_code, f"{reason}: {last}" if last else reason)
        reason = _last_line(message)
        if not reason and condition is not None:
            reason = _last_line(condition.message) or str(condition.reason or "")
        if not reason:
            reason = f"exit code {exit_code}" if exit_code is not None else "the crawler failed"
        return CrawlerOutcome(succeeded=False, exit_code=exit_code, reason=reason)

    def _terminated_containers(self, spec: CrawlerSpec) -> dict[str, tuple[int | None, str | None]]:
        """(exit code, termination message) of each container of the attempt's pod that ended."""
        labels = job_labels(spec)
        selector = ",".join(
            f"{key}={labels[key]}" for key in ("trawl.dev/run", "trawl.dev/attempt")
        )
        try:
            pods = self._core.list_namespaced_pod(self.namespace, label_selector=selector)
        except ApiException:
            # Reading pods is a nicety (may be forbidden): the Job's condition still explains.
            return {}
        ended: dict[str, tuple[int | None, str | None]] = {}
        for pod in pods.items or []:
            for status in (pod.status.container_statuses if pod.status else None) or []:
                terminated = status.state.terminated if status.state else None
                if terminated is not None:
                    ended.setdefault(status.name, (terminated.exit_code, terminated.message))
        return ended

    def _stop(self, spec: CrawlerSpec) -> None:
        job = self._read(spec)
        # A finished Job stays for its TTL, so its outcome can still be read.
        if job is None or _finished_condition(job) is not None:
            return
        try:
            self._batch.delete_namespaced_job(
                job_name(spec),
                self.namespace,
                body=client.V1DeleteOptions(propagation_policy="Foreground"),
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
