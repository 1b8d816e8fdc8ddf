"""generic.json_api sends the report's headers (often credentials) to the configured API's
origin only: a cursor URL pointing elsewhere gets none."""

from __future__ import annotations

import pytest

from trawl.crawlers.builtin.generic_json_api import _same_origin

BASE = "https://api.shop.example/v1/products"


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("https://api.shop.example/v1/products?cursor=abc", True),
        ("https://api.shop.example/other/path", True),
        ("https://api.shop.example:443/v1/products", False),  # explicit port is another origin
        ("http://api.shop.example/v1/products", False),
        ("https://evil.example/v1/products", False),
        ("https://api.shop.example.evil.example/v1", False),
    ],
)
def test_headers_follow_only_the_apis_own_origin(url: str, same: bool) -> None:
    assert _same_origin(url, BASE) is same
