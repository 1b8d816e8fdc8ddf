"""The fixture shop's data: ~1,000 deterministic products and which of them are broken.

Products 1..PRODUCT_COUNT come from a seeded RNG, so a seed gives the same catalogue in every
process. Every product is listed (catalogue and category listings, sitemaps), but a few
cannot be scraped from their detail page, by design:

- WITHDRAWN_IDS: the detail page answers 404;
- ERROR_IDS: the detail page answers 500, every time;
- MALFORMED_IDS: the detail page is truncated HTML without the price (a required field);
- PRIVATE_IDS: linked as /private/products/<id>, which robots.txt disallows.

`expected_products()` is what a complete, polite crawl of the detail pages finds: all the
others (990 with the defaults). The JSON API serves exactly those products."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

PRODUCT_COUNT = 1000
PAGE_SIZE = 20
DEFAULT_SEED = 7
WITHDRAWN_IDS: frozenset[int] = frozenset({17, 404, 733})
ERROR_IDS: frozenset[int] = frozenset({500})
MALFORMED_IDS: frozenset[int] = frozenset({250})
PRIVATE_IDS: frozenset[int] = frozenset({42, 142, 342, 642, 942})
BROKEN_IDS = WITHDRAWN_IDS | ERROR_IDS | MALFORMED_IDS

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("garden", "Garden"),
    ("kitchen", "Kitchen"),
    ("outdoor", "Outdoor"),
    ("office", "Office"),
    ("toys", "Toys"),
    ("audio", "Audio"),
    ("lighting", "Lighting"),
    ("tools", "Tools"),
)
BRANDS = ("Acme", "Borealis", "Crane & Co", "Dunmore", "Elkhorn", "Fjord", "Gable", "Halcyon")
ADJECTIVES = ("Compact", "Deluxe", "Classic", "Rugged", "Smart", "Quiet", "Folding", "Modular")
NOUNS = ("Lamp", "Kettle", "Speaker", "Chair", "Drill", "Planter", "Tent", "Desk", "Robot")
TAGS = ("eco", "bestseller", "new", "sale", "gift", "premium", "compact", "refurbished")
CURRENCIES = ("EUR", "USD", "GBP")
WORDS = ("sturdy", "light", "built", "to", "last", "with", "a", "two-year", "warranty", "and")
_FIRST_RELEASE = date(2015, 1, 1)


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    name: str
    sku: str
    price_cents: int
    currency: str
    category_slug: str
    category: str
    brand: str
    rating: float
    in_stock: bool
    tags: tuple[str, ...]
    release_date: date
    description: str

    @property
    def price(self) -> dict[str, Any]:
        return {"amount": self.price_cents / 100, "currency": self.currency}

    @property
    def path(self) -> str:
        prefix = "/private" if self.id in PRIVATE_IDS else ""
        return f"{prefix}/products/{self.id}"

    def record(self) -> dict[str, Any]:
        """What a crawl with the documented field configuration emits for this product."""
        return {
            "id": self.id,
            "name": self.name,
            "sku": self.sku,
            "price": self.price,
            "category": self.category,
            "brand": self.brand,
            "rating": self.rating,
            "in_stock": self.in_stock,
            "tags": list(self.tags),
            "release_date": self.release_date.isoformat(),
            "description": self.description,
        }


def _product(product_id: int, rng: random.Random) -> Product:
    slug, category = rng.choice(CATEGORIES)
    words = rng.sample(WORDS, 6)
    return Product(
        id=product_id,
        name=f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {product_id:04d}",
        sku=f"SKU-{product_id:06d}",
        price_cents=rng.randint(199, 250_000),
        currency=rng.choice(CURRENCIES),
        category_slug=slug,
        category=category,
        brand=rng.choice(BRANDS),
        rating=rng.randint(10, 50) / 10,
        in_stock=rng.random() < 0.8,
        tags=tuple(rng.sample(TAGS, rng.randint(1, 3))),
        release_date=_FIRST_RELEASE + timedelta(days=rng.randint(0, 3650)),
        description=" ".join(words).capitalize() + ".",
    )


@cache
def catalog(seed: int = DEFAULT_SEED) -> tuple[Product, ...]:
    """Every product, by id; the same for a seed in every process."""
    rng = random.Random(seed)
    return tuple(_product(product_id, rng) for product_id in range(1, PRODUCT_COUNT + 1))


def published(seed: int = DEFAULT_SEED) -> tuple[Product, ...]:
    """The products whose detail page is public and whole (and the JSON API's products)."""
    return tuple(p for p in catalog(seed) if p.id not in BROKEN_IDS and p.id not in PRIVATE_IDS)


def expected_products(seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """The records a complete crawl finds, by id: see the module docstring for what is not."""
    return [product.record() for product in published(seed)]


def by_category(slug: str, seed: int = DEFAULT_SEED) -> tuple[Product, ...]:
    return tuple(p for p in catalog(seed) if p.category_slug == slug)


def page_count(items: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-items // size))


def format_price(product: Product) -> str:
    """Two spellings, so parsers meet both: "€1,234.50" and "1.234,50 EUR"."""
    units, cents = divmod(product.price_cents, 100)
    if product.id % 2:
        return f"{units:,}".replace(",", ".") + f",{cents:02d} {product.currency}"
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}[product.currency]
    return f"{symbol}{units:,}.{cents:02d}"
