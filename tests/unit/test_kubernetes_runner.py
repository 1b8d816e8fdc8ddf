"""The Kubernetes runner without a cluster: no cluster runs here, so this tests the Job
manifests `build_job` produces and the exact API calls launch/outcome/stop make, against a
small loopback HTTP server that plays the batch/v1 Jobs API (and the pod list)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from kubernetes import client

from trawl.config import Settings
from trawl.crawlers.runners.base import CrawlerSpec
from trawl.crawlers.runners.kubernetes_runner import (
    DEADLINE_MARGIN_SECONDS,
    JOB_GONE,
    KubernetesRunner,
    PodOptions,
    build_job,
    job_name,
)

NAMESPACE = "trawl-crawlers"
JOBS = f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs"
PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")

SPEC = CrawlerSpec(
    run_id="01hz8k3v2m4n5p6q7r8s9t0u1v",
    attempt=2,
    organization_id="org-7",
    project_id="project-3",
    report_id="report-9",
    service_code="demo.echo",
    entry_point="trawl.crawlers.builtin.demo_echo",
    image="ghcr.io/trawl/demo-echo",
    version="1.4.0",
    parameters={"count": 2, "records": [{"a": "b"}]},
    timeout_seconds=900,
    cpu="250m",
    memory="256Mi",
    env={"TRAWL_STREAM_NAME": "records", "TRAWL_RUN_ID": "must-not-win"},
)


def manifest(spec: CrawlerSpec = SPEC, **options: Any) -> dict[str, Any]:
    """The Job as it goes over the wire (camelCase, no nulls)."""
    job = build_job(spec, NAMESPACE, ttl_seconds=3600, **options)
    serialized: dict[str, Any] = client.ApiClient().sanitize_for_serialization(job)  # type: ignore[no-untyped-call]
    return serialized


def test_job_manifest_carries_the_attempt() -> None:
    job = manifest()
    labels = {
        "trawl.dev/organization": "org-7",
        "trawl.dev/project": "project-3",
        "trawl.dev/report": "report-9",
        "trawl.dev/run": SPEC.run_id,
        "trawl.dev/attempt": "2",
        "app.kubernetes.io/managed-by": "trawl",
    }
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert job["metadata"]["name"] == f"trawl-{SPEC.run_id}-a2"
    assert job["metadata"]["namespace"] == NAMESPACE
    assert job["metadata"]["labels"] == labels
    assert job["metadata"]["annotations"]["trawl.dev/run-id"] == SPEC.run_id
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == 900 + DEADLINE_MARGIN_SECONDS
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"] == labels
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["automountServiceAccountToken"] is False
    [container, forwarder] = pod["spec"]["containers"]
    assert (container["name"], forwarder["name"]) == ("crawler", "forwarder")
    assert container["image"] == "ghcr.io/trawl/demo-echo:1.4.0"
    limits = {"cpu": "250m", "memory": "256Mi"}
    assert container["resources"] == {"requests": limits, "limits": limits}
    # The pod entry runs the crawler, closes its buffer and log whichever way it ends.
    assert container["command"] == [
        "python", "-m", "trawl.crawlers.runners.pod_entry", "--stop-grace-seconds", "10",
        "/var/run/trawl", "trawl.crawlers.builtin.demo_echo",
    ]  # fmt: skip
    # Deleting the Job: the crawler's stop grace (10 s), then the forwarder's drain (300 s).
    assert pod["spec"]["terminationGracePeriodSeconds"] == 310


def env_of(container: dict[str, Any]) -> dict[str, str]:
    env = {item["name"]: item["value"] for item in container["env"]}
    assert len(env) == len(container["env"])
    return env


def test_job_environment_is_the_crawler_contract_plus_extras() -> None:
    [container, forwarder] = manifest()["spec"]["template"]["spec"]["containers"]
    env = env_of(container)
    assert len(env) == len(container["env"])
    assert env == {
        "TRAWL_RUN_ID": SPEC.run_id,
        "TRAWL_RUN_ATTEMPT": "2",
        "TRAWL_ORGANIZATION_ID": "org-7",
        "TRAWL_PROJECT_ID": "project-3",
        "TRAWL_REPORT_ID": "report-9",
        "TRAWL_SERVICE_CODE": "demo.echo",
        "TRAWL_RUN_PARAMETERS": env["TRAWL_RUN_PARAMETERS"],
        "TRAWL_RUN_DIR": "/var/run/trawl",
        "TRAWL_RUN_OUTPUT": "/var/run/trawl/records.jsonl",
        "TRAWL_RUN_STATS": "/var/run/trawl/stats.json",
        "TRAWL_STREAM_NAME": "records",
    }
    assert json.loads(env["TRAWL_RUN_PARAMETERS"]) == SPEC.parameters
    assert container["volumeMounts"] == [{"name": "run", "mountPath": "/var/run/trawl"}]
    # The forwarder: who the records belong to and where the run dir is, in pod mode.
    assert env_of(forwarder) == {
        "TRAWL_RUN_ID": SPEC.run_id,
        "TRAWL_RUN_ATTEMPT": "2",
        "TRAWL_ORGANIZATION_ID": "org-7",
        "TRAWL_PROJECT_ID": "project-3",
        "TRAWL_REPORT_ID": "report-9",
        "TRAWL_SERVICE_CODE": "demo.echo",
        "TRAWL_RUN_DIR": "/var/run/trawl",
        "TRAWL_FORWARDER_MODE": "pod",
    }


def test_only_the_forwarder_gets_the_aws_and_stream_settings() -> None:
    forwarder_only = {
        "TRAWL_AWS_USE_EMBEDDED": "false",
        "TRAWL_AWS_ENDPOINT_URL": "https://kinesis.eu-west-1.amazonaws.com",
        "TRAWL_AWS_REGION": "eu-west-1",
        "TRAWL_AWS_SECRET_ACCESS_KEY": "do-not-leak",
        "TRAWL_KINESIS_STREAM": "trawl-records",
        "TRAWL_RUN_LOGS_TABLE": "trawl-run-logs",
        "TRAWL_FORWARDER_DRAIN_SECONDS": "60",
    }
    crawler_settings = {"TRAWL_CRAWLER_USER_AGENT": "trawl-bot", "TRAWL_BUFFER_CHUNK_RECORDS": "40"}
    spec = replace(SPEC, env=forwarder_only | crawler_settings)
    [container, forwarder] = manifest(spec)["spec"]["template"]["spec"]["containers"]

    crawler_env, forwarder_env = env_of(container), env_of(forwarder)

    assert not [name for name in crawler_env if name in forwarder_only]
    assert crawler_settings.items() <= crawler_env.items()
    assert forwarder_only.items() <= forwarder_env.items()
    assert not [name for name in forwarder_env if name in crawler_settings]
    assert "TRAWL_RUN_PARAMETERS" not in forwarder_env


def test_the_pod_grace_period_is_the_stop_grace_plus_the_drain_time() -> None:
    spec = replace(SPEC, env={"TRAWL_FORWARDER_DRAIN_SECONDS": "60"})
    job = manifest(spec, pod=PodOptions(stop_grace_seconds=7.5))
    pod = job["spec"]["template"]["spec"]

    assert pod["terminationGracePeriodSeconds"] == 8 + 60
    assert pod["containers"][0]["command"][3:5] == ["--stop-grace-seconds", "7.5"]


def test_the_run_dir_is_a_parameter() -> None:
    pod = manifest(run_dir="/tmp/attempt-7")["spec"]["template"]["spec"]
    for container in pod["containers"]:
        assert container["volumeMounts"] == [{"name": "run", "mountPath": "/tmp/attempt-7"}]
        assert container["workingDir"] == "/tmp/attempt-7"
        assert env_of(container)["TRAWL_RUN_DIR"] == "/tmp/attempt-7"
    assert pod["containers"][0]["command"][-2] == "/tmp/attempt-7"
    assert pod["containers"][1]["command"][-1] == "/tmp/attempt-7"


@pytest.mark.parametrize(
    "run_id",
    [
        "Run_With.Odd/Chars!" * 5,
        "x" * 200,
        "--leading-and-trailing--",
        "UPPER-case-ULID-01HZ8K3V2M4N5P6Q7R8S9T0U1V-and-more-text-to-be-long",
    ],
)
def test_names_and_labels_stay_valid_for_any_run_id(run_id: str) -> None:
    spec = replace(SPEC, run_id=run_id, attempt=12, organization_id="Org:" + "o" * 80)
    job = manifest(spec)
    name = job["metadata"]["name"]
    assert len(name) <= 63 and DNS_LABEL.fullmatch(name), name
    assert name.endswith("-a12")
    for value in job["metadata"]["labels"].values():
        assert len(value) <= 63 and LABEL_VALUE.fullmatch(value), value


def test_distinct_long_run_ids_get_distinct_names() -> None:
    first = replace(SPEC, run_id="r" * 100 + "1")
    second = replace(SPEC, run_id="r" * 100 + "2")
    differs_by_case = replace(SPEC, run_id="Run.1")
    assert job_name(first) != job_name(second)
    assert job_name(differs_by_case) != job_name(replace(SPEC, run_id="run-1"))


@dataclass
class FakeKubernetes:
    """Plays the Jobs API (create, read status, delete) and the pod list; records requests."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, list[str]], Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def handle(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        parts = urlsplit(url)
        with self.lock:
            self.requests.append((method, parts.path, parse_qs(parts.query), body))
            return self._route(method, parts.path)(body)

    def _route(self, method: str, path: str) -> Callable[[Any], tuple[int, Any]]:
        if (method, path) == ("POST", JOBS):
            return self._create
        if (method, path) == ("GET", PODS):
            return lambda _: (200, {"kind": "PodList", "apiVersion": "v1", "items": self.pods})
        name = path.removeprefix(JOBS + "/").removesuffix("/status")
        if name not in self.jobs:
            return lambda _: (404, _status(404, "NotFound", f'jobs.batch "{name}" not found'))
        if method == "GET":
            return lambda _: (200, self.jobs[name])
        return lambda _: (200, _status(200, "", "", self.jobs.pop(name)))

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        name = body["metadata"]["name"]
        if name in self.jobs:
            return 409, _status(409, "AlreadyExists", f'jobs.batch "{name}" already exists')
        self.jobs[name] = {**body, "status": {}}
        return 201, self.jobs[name]

    def set_status(self, name: str, status: dict[str, Any]) -> None:
        with self.lock:
            self.jobs[name]["status"] = status

    def calls(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _, _ in self.requests]


def _status(code: int, reason: str, message: str, details: Any = None) -> dict[str, Any]:
    status = "Success" if code < 300 else "Failure"
    return {"kind": "Status", "apiVersion": "v1", "status": status, "code": code,
            "reason": reason, "message": message, "details": details}  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    state = FakeKubernetes()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            code, payload = state.handle(self.command, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def runner(fake: FakeKubernetes) -> Iterator[KubernetesRunner]:
    api = client.ApiClient(client.Configuration(host=fake.url))
    yield KubernetesRunner(api, NAMESPACE, ttl_seconds=3600, pod=PodOptions())
    api.close()  # type: ignore[no-untyped-call]


NAME = job_name(SPEC)
STATUS = f"{JOBS}/{NAME}/status"


async def test_launch_creates_the_job_once_and_tolerates_409(
    runner: KubernetesRunner, fake: FakeKubernetes
) -> None:
    assert await runner.launch(SPEC) == NAME
    assert await runner.launch(SPEC) == NAME  # a retried activity: 409 AlreadyExists

    assert fake.calls() == [("POST", JOBS), ("POST", JOBS)]
    assert fake.requests[0][3] == manifest()
    assert list(fake.jobs) == [NAME]


async def test_outcome_is_none_while_the_job_runs(
    runner: KubernetesRunner, fake: FakeKubernetes
) -> None:
    await runner.launch(SPEC)
    fake.set_status(NAME, {"active": 1, "startTime": "2026-01-01T00:00:00Z"})

    assert await runner.outcome(SPEC) is None
    assert fake.calls()[-1] == ("GET", STATUS)


async def test_outcome_of_a_succeeded_job(runner: KubernetesRunner, fake: FakeKubernetes) -> None:
    await runner.launch(SPEC)
    fake.set_status(NAME, {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})

    outcome = await runner.outcome(SPEC)

    assert outcome is not None and outcome.succeeded and outcome.exit_code == 0


async def test_outcome_of_a_job_past_its_deadline(
    runner: KubernetesRunner, fake: FakeKubernetes
) -> None:
    await runner.launch(SPEC)
    failed = {"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
              "message": "Job was active longer than specified deadline"}  # fmt: skip
    fake.set_status(NAME, {"failed": 1, "conditions": [failed]})

    outcome = await runner.outcome(SPEC)

    assert outcome is not None and not outcome.succeeded
    assert outcome.reason == "the crawler hit its deadline of 900 s and was stopped"
    assert fake.calls()[-1] == ("GET", STATUS)


async def test_outcome_of_a_failed_job_uses_the_crawler_last_words(
    runner: KubernetesRunner, fake: FakeKubernetes
) -> None:
    await runner.launch(SPEC)
    failed = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
              "message": "Job has reached the specified backoff limit"}  # fmt: skip
    fake.set_status(NAME, {"failed": 1, "conditions": [failed]})
    terminated = {"exitCode": 3, "reason": "Error", "message": "emitted 2\nsite said no\n"}
    fake.pods.append({"metadata": {"name": f"{NAME}-x7k2p"}, "status": {"containerStatuses": [
        {"name": "crawler", "image": "i", "imageID": "", "ready": False, "restartCount": 0,
         "state": {"terminated": terminated}}]}})  # fmt: skip

    outcome = await runner.outcome(SPEC)

    assert outcome is not None and not outcome.succeeded
    assert (outcome.exit_code, outcome.reason) == (3, "site said no")
    method, path, query, _ = fake.requests[-1]
    assert (method, path) == ("GET", PODS)
    assert query["labelSelector"] == [f"trawl.dev/run={SPEC.run_id},trawl.dev/attempt=2"]


def test_forwarder_sidecar_shares_the_run_dir_in_the_platform_image() -> None:
    [crawler, forwarder] = manifest()["spec"]["template"]["spec"]["containers"]
    assert forwarder["image"] == Settings().kubernetes_forwarder_image
    assert forwarder["image"].startswith("ghcr.io/trawl/platform:")
    assert forwarder["command"] == ["python", "-m", "trawl.crawlers.forwarder", "/var/run/trawl"]
    assert forwarder["volumeMounts"] == crawler["volumeMounts"]
    assert forwarder["workingDir"] == "/var/run/trawl"


def test_forwarder_image_comes_from_the_settings() -> None:
    settings = Settings(kubernetes_forwarder_image="registry.internal/trawl/platform:9.9.9")
    images = [
        [c["image"] for c in manifest(pod=options)["spec"]["template"]["spec"]["containers"]]
        for options in (PodOptions.from_settings(settings), PodOptions(forwarder_image=""))
    ]
    assert images == [
        ["ghcr.io/trawl/demo-echo:1.4.0", "registry.internal/trawl/platform:9.9.9"],
        # Explicitly empty: the service code's image, which has the SDK (and so trawl) too.
        ["ghcr.io/trawl/demo-echo:1.4.0", "ghcr.io/trawl/demo-echo:1.4.0"],
    ]


async def test_outcome_when_the_forwarder_failed_is_records_not_delivered(
    runner: KubernetesRunner, fake: FakeKubernetes
) -> None:
    await runner.launch(SPEC)
    failed = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
              "message": "Job has reached the specified backoff limit"}  # fmt: skip
    fake.set_status(NAME, {"failed": 1, "conditions": [failed]})
    fake.pods.append({"metadata": {"name": f"{NAME}-x7k2p"}, "status": {"containerStatuses": [
        {"name": "crawler", "image": "i", "imageID": "", "ready": False, "restartCount": 0,
         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "forwarder", "image": "i", "imageID": "", "ready": False, "restartCount": 0,
         "state": {"terminated": {"exitCode": 1, "reason": "Error", "message": "boom\n"}}}]}})  # fmt: skip

    outcome = await runner.outcome(SPEC)

    assert outcome is not None and not outcome.succeeded and outcome.exit_code == 1
    assert outcome.reason == "records not delivered: the record forwarder exited with code 1: boom"


async def test_outcome_falls_back_to_the_job_condition(
    runner: KubernetesRunner, fake: FakeKubernetes
) -> None:
    await runner.launch(SPEC)
    failed = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
              "message": "Job has reached the specified backoff limit"}  # fmt: skip
    fake.set_status(NAME, {"failed": 1, "conditions": [failed]})

    outcome = await runner.outcome(SPEC)

    assert outcome is not None and outcome.exit_code is None
    assert outcome.reason == "Job has reached the specified backoff limit"


async def test_outcome_when_the_job_is_gone(runner: KubernetesRunner, fake: FakeKubernetes) -> None:
    outcome = await runner.outcome(SPEC)

    assert outcome is not None and not outcome.succeeded and outcome.reason == JOB_GONE
    assert fake.calls() == [("GET", STATUS)]


async def test_stop_deletes_a_running_job_in_the_foreground(
    runner: KubernetesRunner, fake: FakeKubernetes
) -> None:
    await runner.launch(SPEC)
    fake.set_status(NAME, {"active": 1})

    await runner.stop(SPEC, grace_seconds=10)
    await runner.stop(SPEC, grace_seconds=10)  # idempotent: the Job is gone (404)

    assert fake.calls() == [("POST", JOBS), ("GET", STATUS), ("DELETE", f"{JOBS}/{NAME}"),
                            ("GET", STATUS)]  # fmt: skip
    assert fake.requests[2][3]["propagationPolicy"] == "Foreground"
    assert fake.jobs == {}


async def test_stop_leaves_a_finished_job_for_its_outcome(
    runner: KubernetesRunner, fake: FakeKubernetes
) -> None:
    await runner.launch(SPEC)
    fake.set_status(NAME, {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})

    await runner.stop(SPEC, grace_seconds=10)

    assert fake.calls() == [("POST", JOBS), ("GET", STATUS)]
    outcome = await runner.outcome(SPEC)
    assert outcome is not None and outcome.succeeded
