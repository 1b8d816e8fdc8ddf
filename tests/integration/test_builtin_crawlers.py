"""The built-in service codes as real crawler processes against the fixture shop: each finds
exactly the expected products, obeys robots.txt, waits out the 429 and counts the broken
pages as errors with log lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.crawler_process import CrawlerRun, run_crawler_process
from trawl.crawlers.buffer import record_id
from trawl.demo.catalog import (
    ERROR_IDS,
    MALFORMED_IDS,
    PRIVATE_IDS,
    WITHDRAWN_IDS,
    by_category,
    catalog,
    expected_products,
    format_price,
)
from trawl.demo.fixture_site import RunningSite, serve_fixture_site
from trawl.demo.report_fields import API_FIELDS, PRODUCT_FIELDS, catalog_parameters

# Three tries of the 500 page instead of five keep the test quick.
ENV = {"TRAWL_CRAWLER_MAX_RETRIES": "2", "TRAWL_RECORD_KEY_FIELDS": "id"}
EXPECTED = {product["id"]: product for product in expected_products()}


@pytest.fixture(scope="module")
def site() -> Iterator[RunningSite]:
    running = serve_fixture_site(0)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh_site(site: RunningSite) -> None:
    site.state.reset()


async def crawl(code: str, tmp_path: Path, parameters: dict[str, Any]) -> CrawlerRun:
    module = f"trawl.crawlers.builtin.{code}"
    return await run_crawler_process(["-m", module], tmp_path, parameters, **ENV)


def by_id(run: CrawlerRun) -> dict[int, dict[str, Any]]:
    records = {record["id"]: record for record in run.records}
    assert len(records) == len(run.records), "a product was emitted twice"
    return records


def assert_envelopes_sound(run: CrawlerRun) -> None:
    envelopes = run.envelopes
    assert [e["sequence"] for e in envelopes] == list(range(1, len(envelopes) + 1))
    assert all(e["record_id"] == record_id(e["payload"], ["id"]) for e in envelopes)
    assert run.buffer_closed


def assert_broken_pages_logged(run: CrawlerRun, url: str) -> None:
    errors = run.messages("ERROR")
    for product_id in sorted(WITHDRAWN_IDS):
        assert f"GET {url}/products/{product_id} failed: HTTP 404" in errors
    for product_id in sorted(ERROR_IDS):
        assert f"GET {url}/products/{product_id} failed after 3 attempts: HTTP 500" in errors
    for product_id in sorted(MALFORMED_IDS):
        assert (
            f"item on {url}/products/{product_id} not emitted: required price missing"
            in run.messages("WARNING")
        )
    skipped = [m for m in run.messages("INFO") if m.endswith("disallowed by robots.txt")]
    assert len(skipped) == len(PRIVATE_IDS)


async def test_generic_html_crawls_every_product_from_the_detail_pages(
    site: RunningSite, tmp_path: Path
) -> None:
    run = await crawl(
        "generic_html",
        tmp_path,
        catalog_parameters(site.url),
    )

    assert run.returncode == 0, run.stderr
    assert by_id(run) == EXPECTED
    broken = len(WITHDRAWN_IDS) + len(ERROR_IDS) + len(MALFORMED_IDS)
    stats = run.stats
    # 50 listings + every public detail page that answered 200 (the malformed one too).
    assert stats | {"bytes": 0} == {
        "pages": 50 + 990 + 1,
        "records": 990,
        "errors": broken,
        "bytes": 0,
        "skipped": len(PRIVATE_IDS),
    }
    assert stats["bytes"] > 1_000_000
    assert site.state.requested("/private/") == 0
    assert site.state.requests["/catalog?page=3"] == 2  # 429, then the retry
    assert_broken_pages_logged(run, site.url)
    assert_envelopes_sound(run)


async def test_generic_html_takes_items_from_listings(site: RunningSite, tmp_path: Path) -> None:
    run = await crawl(
        "generic_html",
        tmp_path,
        {
            "start_urls": [f"{site.url}/catalog?page=1"],
            "pagination_selector": "a[rel=next]",
            "item_selector": "li.product-card",
            "url_field": "listing",
            "fields": {
                "id": {"selector": ".", "attr": "data-id", "type": "int", "required": True},
                "name": {"selector": "a.product-link"},
                "url": {"selector": "a.product-link", "attr": "href", "type": "url"},
                "price": {"selector": ".price", "type": "money"},
                "price_text": {"selector": ".price"},
            },
        },
    )

    assert run.returncode == 0, run.stderr
    records = by_id(run)
    assert len(records) == 1000 and run.stats["pages"] == 50
    for product in catalog():
        record = records[product.id]
        assert record["price"] == product.price, record["price_text"]
        assert record["price_text"] == format_price(product)
        assert record["url"] == site.url + product.path
    assert records[1]["listing"] == f"{site.url}/catalog?page=1"


async def test_generic_html_follows_link_patterns_to_a_depth(
    site: RunningSite, tmp_path: Path
) -> None:
    parameters = {
        "start_urls": [f"{site.url}/"],
        "follow": [r"/category/garden"],
        "pagination_selector": "a[rel=next]",
        "item_link_selector": "a.product-link",
        "fields": PRODUCT_FIELDS,
        "max_depth": 2,
    }
    run = await crawl("generic_html", tmp_path / "deep", parameters)
    shallow = await crawl("generic_html", tmp_path / "shallow", parameters | {"max_depth": 1})

    garden = {p.id for p in by_category("garden")}
    assert run.returncode == 0, run.stderr
    assert set(by_id(run)) == garden & set(EXPECTED)
    assert shallow.returncode == 0 and shallow.records == []
    assert site.state.requested("/category/kitchen") == 0


async def test_generic_html_robots_can_be_ignored_by_the_report(
    site: RunningSite, tmp_path: Path
) -> None:
    parameters = {
        "start_urls": [f"{site.url}/catalog?page=8"],  # products 141..160, 142 is private
        "item_link_selector": "a.product-link",
        "fields": PRODUCT_FIELDS,
    }
    polite = await crawl("generic_html", tmp_path / "polite", parameters)
    rude = await crawl("generic_html", tmp_path / "rude", parameters | {"ignore_robots": True})

    assert 142 not in by_id(polite) and polite.stats["skipped"] == 1
    assert by_id(rude)[142]["name"] == catalog()[141].name
    assert rude.stats["skipped"] == 0


async def test_generic_html_stops_at_max_pages(site: RunningSite, tmp_path: Path) -> None:
    run = await crawl(
        "generic_html",
        tmp_path,
        {
            "start_urls": [f"{site.url}/catalog?page=1"],
            "pagination_selector": "a[rel=next]",
            "item_link_selector": "a.product-link",
            "fields": PRODUCT_FIELDS,
            "max_pages": 15,
        },
    )
    assert run.returncode == 0
    assert run.stats["pages"] + run.stats["errors"] <= 15
    assert "reached the limit of 15 pages; not queuing more" in run.messages("INFO")


async def test_generic_html_rejects_a_bad_pattern_before_crawling(tmp_path: Path) -> None:
    run = await crawl(
        "generic_html",
        tmp_path,
        {"start_urls": ["http://127.0.0.1:9/"], "follow": ["(unclosed"], "fields": PRODUCT_FIELDS},
    )
    assert run.returncode == 2
    assert run.reason.startswith("invalid parameters: follow/0: '(unclosed' is not a 'regex'")


@pytest.mark.parametrize(
    ("path", "pagination"),
    [
        ("/api/products", {"mode": "page", "page_size": 20}),
        ("/api/products", {"mode": "offset", "page_size": 20, "size_param": "limit"}),
        ("/api/products/cursor", {"mode": "cursor", "cursor_path": "meta.next_cursor"}),
    ],
    ids=["page", "offset", "cursor"],
)
async def test_generic_json_api_pages_through_every_product(
    site: RunningSite, tmp_path: Path, path: str, pagination: dict[str, Any]
) -> None:
    run = await crawl(
        "generic_json_api",
        tmp_path,
        {
            "url": site.url + path,
            "items_path": "data.products",
            "pagination": pagination,
            "fields": API_FIELDS,
        },
    )

    assert run.returncode == 0, run.stderr
    assert by_id(run) == EXPECTED
    assert run.stats | {"bytes": 0} == {
        "pages": 50,
        "records": 990,
        "errors": 0,
        "bytes": 0,
        "skipped": 0,
    }
    assert site.state.throttled == {"api:40"}
    assert any("after HTTP 429" in message for message in run.messages("INFO"))
    assert_envelopes_sound(run)


async def test_generic_json_api_counts_a_missing_required_field(
    site: RunningSite, tmp_path: Path
) -> None:
    run = await crawl(
        "generic_json_api",
        tmp_path,
        {
            "url": f"{site.url}/api/products?per_page=5",
            "items_path": "data.products",
            "fields": {"id": "id", "colour": {"path": "colour", "required": True}},
        },
    )
    assert run.returncode == 0
    assert run.records == [] and run.stats["errors"] == 5
    assert len(run.messages("WARNING")) == 5


async def test_generic_sitemap_reads_nested_sitemaps_and_every_item_page(
    site: RunningSite, tmp_path: Path
) -> None:
    run = await crawl(
        "generic_sitemap",
        tmp_path,
        {
            "sitemap_urls": [f"{site.url}/sitemap.xml"],
            "url_filter": r"/products/\d+$",
            "fields": PRODUCT_FIELDS,
        },
    )

    assert run.returncode == 0, run.stderr
    assert by_id(run) == EXPECTED
    # 7 sitemaps (root index, pages, products index, 4 product sitemaps) + 991 item pages.
    assert run.stats | {"bytes": 0} == {
        "pages": 7 + 991,
        "records": 990,
        "errors": 5,
        "bytes": 0,
        "skipped": 5,
    }
    assert site.state.requested("/private/") == 0
    assert site.state.requested("/about") == 0  # filtered out
    assert_broken_pages_logged(run, site.url)
    assert_envelopes_sound(run)
