"""The service codes that ship with the platform, registered at start-up when missing.

Staff may change a registered code through the API; a built-in is only rewritten here when
its version in this file moves, so a release can change its schemas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trawl.crawlers.builtin import demo_echo


@dataclass(frozen=True, slots=True)
class BuiltinCode:
    code: str
    title: str
    description: str
    entry_point: str
    version: str
    parameters_schema: dict[str, Any]
    record_schema: dict[str, Any]
    default_timeout_seconds: int = 3600
    cpu: str = "500m"
    memory: str = "512Mi"
    image: str = "ghcr.io/trawl/crawlers"


BUILTIN_CODES: tuple[BuiltinCode, ...] = (
    BuiltinCode(
        code="demo.echo",
        title="Demo: echo records",
        description=(
            "Emits the records it is given (or N generated ones); can be told to fail or hang. "
            "For trying the platform and for tests."
        ),
        entry_point="trawl.crawlers.builtin.demo_echo",
        version="1",
        parameters_schema=demo_echo.PARAMETERS_SCHEMA,
        record_schema=demo_echo.RECORD_SCHEMA,
        default_timeout_seconds=600,
        cpu="100m",
        memory="128Mi",
    ),
)
