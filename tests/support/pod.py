"""A crawler pod without a cluster: the containers of a Job manifest run as local processes,
each with exactly the command, environment and working dir the manifest gives it, sharing the
run dir the manifest mounts (that is what the pod is: processes sharing an emptyDir).

What a container gets besides the manifest comes from its image and from kubelet, and is added
here as such: the image's PATH and the installed `trawl` (PYTHONPATH, `python` being this
interpreter), and, for the crawler container, where kubelet's termination message file is
(TRAWL_TERMINATION_LOG). Each container is its own session, as it is its own PID namespace:
`signal` reaches its PID 1 alone (kubelet's SIGTERM), `kill` every process in it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from trawl.crawlers.runners.attempt import ProcessRef

REPO = Path(__file__).resolve().parents[2]
EXIT_TIMEOUT_SECONDS = 60.0


def serialized(job: client.V1Job) -> dict[str, Any]:
    """The Job as it goes over the wire (camelCase, no nulls)."""
    data: dict[str, Any] = client.ApiClient().sanitize_for_serialization(job)  # type: ignore[no-untyped-call]
    return data


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}


@dataclass
class Container:
    name: str
    manifest: dict[str, Any]
    process: asyncio.subprocess.Process
    output: Path

    def signal(self, sig: signal.Signals) -> None:
        """To the container's PID 1 only, as kubelet signals a container."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, sig)

    async def exit_code(self, within_seconds: float = EXIT_TIMEOUT_SECONDS) -> int:
        try:
            return await asyncio.wait_for(self.process.wait(), within_seconds)
        except TimeoutError:
            raise AssertionError(f"{self.name} still running; output:\n{self.log()}") from None

    def log(self) -> str:
        return self.output.read_text(errors="replace")


class Pod:
    def __init__(self, job: client.V1Job, work_dir: Path) -> None:
        self.manifest = serialized(job)
        self.work_dir = work_dir
        self.termination_log = work_dir / "termination-log"
        self.containers: dict[str, Container] = {}

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.manifest["spec"]["template"]["spec"]
        return spec

    @property
    def crawler(self) -> Container:
        return self.containers["crawler"]

    @property
    def forwarder(self) -> Container:
        return self.containers["forwarder"]

    async def start(self) -> None:
        """In manifest order, as kubelet starts them."""
        for manifest in self.spec["containers"]:
            self.containers[manifest["name"]] = await self._start(manifest)

    async def _start(self, manifest: dict[str, Any]) -> Container:
        name = manifest["name"]
        command = [sys.executable if arg == "python" else arg for arg in manifest["command"]]
        image_env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}
        kubelet = {"TRAWL_TERMINATION_LOG": str(self.termination_log)} if name == "crawler" else {}
        output = self.work_dir / f"{name}.out"
        with output.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *command,
                env=image_env | env_of(manifest) | kubelet,
                cwd=manifest["workingDir"],
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        return Container(name, manifest, process, output)

    def kill_crawler_container(self) -> None:
        """What an OOM kill of the container's group does: SIGKILL to every process in it
        (the entry, and the crawler in its own process group)."""
        run_dir = Path(self.crawler.manifest["workingDir"])
        crawler = ProcessRef.read(run_dir / "crawler.pid")
        for group in (self.crawler.process.pid, crawler.pid if crawler else None):
            if group is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)

    async def stop(self) -> None:
        """Whatever still runs (a failed test): killed, as kubelet would at the end."""
        run_dir = Path(self.spec["containers"][0]["workingDir"])
        crawler = ProcessRef.read(run_dir / "crawler.pid")
        if crawler is not None:
            crawler.signal_group(signal.SIGKILL)
        for container in self.containers.values():
            if container.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(container.process.pid, signal.SIGKILL)
                await container.process.wait()

    def termination_message(self) -> str:
        try:
            return self.termination_log.read_text()
        except FileNotFoundError:
            return ""
