"""The service codes that ship with the platform, registered at start-up when missing.

Staff may change a registered code through the API; a built-in is only rewritten here when
its version in this file moves, so a release can change its schemas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trawl.crawlers.builtin import demo_echo, generic_html, generic_json_api, generic_sitemap


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
    BuiltinCode(
        code=generic_html.SERVICE_CODE,
        title="Generic: HTML pages",
        description=(
            "Crawls a site from start URLs through pagination and link patterns; items come "
            "from listings or detail pages, read with CSS/XPath field selectors and typed "
            "(string, int, float, money, date, url, boolean, list)."
        ),
        entry_point=generic_html.ENTRY_POINT,
        version="1",
        parameters_schema=generic_html.PARAMETERS_SCHEMA,
        record_schema=generic_html.RECORD_SCHEMA,
    ),
    BuiltinCode(
        code=generic_json_api.SERVICE_CODE,
        title="Generic: JSON API",
        description=(
            "Pages through a JSON endpoint (page number, offset or cursor) and maps each item "
            "to a record by dotted paths."
        ),
        entry_point=generic_json_api.ENTRY_POINT,
        version="1",
        parameters_schema=generic_json_api.PARAMETERS_SCHEMA,
        record_schema=generic_json_api.RECORD_SCHEMA,
        cpu="250m",
        memory="256Mi",
    ),
    BuiltinCode(
        code=generic_sitemap.SERVICE_CODE,
        title="Generic: sitemap",
        description=(
            "Reads sitemaps and sitemap indexes, then parses the listed item pages with the "
            "same field selectors as generic.html."
        ),
        entry_point=generic_sitemap.ENTRY_POINT,
        version="1",
        parameters_schema=generic_sitemap.PARAMETERS_SCHEMA,
        record_schema=generic_sitemap.RECORD_SCHEMA,
    ),
)
