"""The fixture shop's HTML and XML: listings, detail pages, sitemaps, robots.txt.

Markup is plain and predictable so field selectors are easy to write (see the README-like
docstring of trawl.demo.fixture_site for a ready configuration)."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from trawl.demo.catalog import CATEGORIES, PAGE_SIZE, Product, format_price, page_count

ROBOTS_TXT = """User-agent: *
Disallow: /private/

User-agent: EvilBot
Disallow: /

Sitemap: {base}/sitemap.xml
"""


def layout(title: str, body: str) -> str:
    nav = " ".join(f'<a href="/category/{slug}">{escape(name)}</a>' for slug, name in CATEGORIES)
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}"
        f" · Fixture Shop</title></head><body><header><a href=/>Fixture Shop</a> "
        f'<a href="/catalog?page=1">Catalogue</a> <nav class=categories>{nav}</nav></header>'
        f"<main>{body}</main><footer><a href=/about>About</a></footer></body></html>"
    )


def product_card(product: Product) -> str:
    return (
        f'<li class="product-card" data-id="{product.id}">'
        f'<a class="product-link" href="{product.path}">{escape(product.name)}</a> '
        f'<span class="price">{escape(format_price(product))}</span></li>'
    )


def listing(title: str, base_path: str, products: list[Product], page: int, total: int) -> str:
    """One page of a listing; `base_path` is /catalog or /category/<slug>."""
    cards = "".join(product_card(p) for p in products)
    links = []
    if page > 1:
        links.append(f'<a class="prev" rel="prev" href="{base_path}?page={page - 1}">Previous</a>')
    if page < page_count(total, PAGE_SIZE):
        links.append(f'<a class="next" rel="next" href="{base_path}?page={page + 1}">Next</a>')
    body = (
        f"<h1>{escape(title)}</h1><p class=count>{total} products, page {page}</p>"
        f'<ul class="products">{cards}</ul><nav class="pagination">{" ".join(links)}</nav>'
    )
    return layout(f"{title}, page {page}", body)


def detail_fields(product: Product) -> str:
    tags = "".join(f"<li>{escape(tag)}</li>" for tag in product.tags)
    released = product.release_date
    return (
        f'<h1 class="name">{escape(product.name)}</h1><dl>'
        f'<dt>SKU</dt><dd class="sku">{product.sku}</dd>'
        f'<dt>Price</dt><dd class="price">{escape(format_price(product))}</dd>'
        f'<dt>Category</dt><dd class="category"><a href="/category/{product.category_slug}">'
        f"{escape(product.category)}</a></dd>"
        f'<dt>Brand</dt><dd class="brand">{escape(product.brand)}</dd>'
        f'<dt>Rating</dt><dd class="rating">{product.rating} out of 5</dd>'
        f'<dt>Availability</dt><dd class="stock">'
        f"{'In stock' if product.in_stock else 'Out of stock'}</dd>"
        f'<dt>Released</dt><dd class="released"><time datetime="{released.isoformat()}">'
        f"{released.day} {released:%B %Y}</time></dd></dl>"
        f'<ul class="tags">{tags}</ul><p class="description">{escape(product.description)}</p>'
    )


def detail(product: Product) -> str:
    body = f'<article class="product" data-id="{product.id}">{detail_fields(product)}</article>'
    return layout(product.name, body)


def malformed_detail(product: Product) -> str:
    """Cut off mid-tag before the price, with stray markup: lxml recovers the name and SKU."""
    return (
        f"<html><head><title>{escape(product.name)}</title><body><article class=product "
        f'data-id="{product.id}"><h1 class="name">{escape(product.name)}</h1><dl><dt>SKU'
        f'<dd class="sku">{product.sku}<</dt></b><dt>Price<dd class="pri'
    )


def not_found(what: str) -> str:
    return layout("Not found", f"<h1>Not found</h1><p>{escape(what)}</p>")


def home(product_total: int) -> str:
    return layout(
        "Home",
        f'<h1>Fixture Shop</h1><p>{product_total} products. <a href="/catalog?page=1">Browse'
        "</a>, or read the <a href=/sitemap.xml>sitemap</a>.</p>",
    )


def about() -> str:
    return layout("About", "<h1>About</h1><p>A deterministic shop for crawler tests.</p>")


def urlset(urls: Iterable[str]) -> str:
    entries = "".join(f"<url><loc>{escape(url)}</loc></url>" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    )


def sitemap_index(urls: Iterable[str]) -> str:
    entries = "".join(f"<sitemap><loc>{escape(url)}</loc></sitemap>" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}'
        "</sitemapindex>"
    )
