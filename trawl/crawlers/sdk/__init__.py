"""The crawler SDK: what a crawler author writes against, and all a crawler may depend on.

    from trawl.crawlers.sdk import CrawlContext, run_crawler

    async def crawl(ctx: CrawlContext) -> None:
        page = await ctx.fetch(ctx.params["url"])
        if page is not None:
            for title in page.css("h2::text").getall():
                ctx.emit({"title": title})

    if __name__ == "__main__":
        run_crawler(crawl, parameters_schema=PARAMETERS_SCHEMA)

It depends on nothing of the platform (no settings, database, gRPC or AWS): everything comes
from the TRAWL_* environment the runner sets."""

from trawl.crawlers.sdk.context import CrawlContext
from trawl.crawlers.sdk.fetcher import (
    DEFAULT_USER_AGENT,
    Fetcher,
    FetchResult,
    FetchSettings,
    FetchStatus,
)
from trawl.crawlers.sdk.frontier import Frontier, Visit
from trawl.crawlers.sdk.response import Page, Response
from trawl.crawlers.sdk.runtime import (
    FETCH_PARAMETER_PROPERTIES,
    CrawlError,
    InvalidParameters,
    execute,
    parse_parameters,
    run_crawler,
)
from trawl.crawlers.sdk.telemetry import Counters, JsonLineLogger
from trawl.crawlers.sdk.urls import normalize_url

__all__ = [
    "DEFAULT_USER_AGENT",
    "FETCH_PARAMETER_PROPERTIES",
    "Counters",
    "CrawlContext",
    "CrawlError",
    "FetchResult",
    "FetchSettings",
    "FetchStatus",
    "Fetcher",
    "Frontier",
    "InvalidParameters",
    "JsonLineLogger",
    "Page",
    "Response",
    "Visit",
    "execute",
    "normalize_url",
    "parse_parameters",
    "run_crawler",
]
