"""Report parameters that read the fixture shop into `expected_products()`' shape: the
detail-page field selectors (generic.html, generic.sitemap) and the JSON API paths
(generic.json_api). The demo report, the tests and the crawl benchmark all use these."""

from __future__ import annotations

from typing import Any

# The field configuration that reads a product detail page into expected_products()' shape.
PRODUCT_FIELDS: dict[str, Any] = {
    "id": {"selector": "article.product", "attr": "data-id", "type": "int", "required": True},
    "name": {"selector": "h1.name", "required": True},
    "sku": {"selector": "dd.sku"},
    "price": {"selector": "dd.price", "type": "money", "required": True},
    "category": {"selector": "dd.category a"},
    "brand": {"selector": "dd.brand"},
    "rating": {"selector": "dd.rating", "type": "float"},
    "in_stock": {"selector": "dd.stock", "type": "boolean"},
    "tags": {"selector": "ul.tags li", "type": "list"},
    "release_date": {"xpath": "//dd[@class='released']/time/text()", "type": "date"},
    "description": {"selector": "p.description"},
}
API_FIELDS = {
    **{name: name for name in ("id", "name", "sku", "price", "brand", "rating", "in_stock")},
    "tags": "tags",
    "category": "category.name",
    "release_date": "released",
    "description": "description",
}

# The record schema a report on the shop declares: expected_products()' records, typed
# (the stream, export and ingest tests and benchmarks validate and type against it).
PRODUCT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "sku": {"type": "string"},
        "price": {
            "type": "object",
            "properties": {"amount": {"type": "number"}, "currency": {"type": "string"}},
            "required": ["amount", "currency"],
        },
        "category": {"type": "string"},
        "brand": {"type": "string"},
        "rating": {"type": "number"},
        "in_stock": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "release_date": {"type": "string"},
        "description": {"type": "string"},
    },
    "required": ["id", "name", "sku", "price"],
    "additionalProperties": False,
}


def catalog_parameters(site_url: str) -> dict[str, Any]:
    """generic.html parameters that crawl the whole shop at `site_url`: the paginated
    catalogue, each product's detail page, PRODUCT_FIELDS (990 products, 5 broken pages)."""
    return {
        "start_urls": [f"{site_url}/catalog?page=1"],
        "pagination_selector": "a[rel=next]",
        "item_link_selector": "a.product-link",
        "fields": PRODUCT_FIELDS,
    }
