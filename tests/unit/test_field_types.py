"""Typed field values from scraped text (generic.html / generic.sitemap field types)."""

from __future__ import annotations

from typing import Any

import pytest

from trawl.crawlers.builtin.field_types import (
    convert,
    parse_boolean,
    parse_date,
    parse_float,
    parse_int,
    parse_money,
    parse_url,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("€1,234.50", {"amount": 1234.5, "currency": "EUR"}),
        ("$12.99", {"amount": 12.99, "currency": "USD"}),
        ("12,99 EUR", {"amount": 12.99, "currency": "EUR"}),
        ("1.234,50 EUR", {"amount": 1234.5, "currency": "EUR"}),
        ("1 234,50 €", {"amount": 1234.5, "currency": "EUR"}),
        ("CHF 1'234.50", {"amount": 1234.5, "currency": "CHF"}),
        ("£5", {"amount": 5.0, "currency": "GBP"}),
        ("US$ 3.10", {"amount": 3.1, "currency": "USD"}),
        ("-€5.00", {"amount": -5.0, "currency": "EUR"}),
        ("Price: 1,234", {"amount": 1234.0, "currency": None}),
        ("  €0.99 incl. VAT ", {"amount": 0.99, "currency": "EUR"}),
        ("1,234,567.89 USD", {"amount": 1234567.89, "currency": "USD"}),
        (".99", {"amount": 0.99, "currency": None}),
        ("$.99", {"amount": 0.99, "currency": "USD"}),
        ("1.299 €", {"amount": 1299.0, "currency": "EUR"}),  # a dot grouping thousands
        ("USD 1.000", {"amount": 1000.0, "currency": "USD"}),
        ("CA$ 10", {"amount": 10.0, "currency": "CAD"}),
        ("AU$ 7.50", {"amount": 7.5, "currency": "AUD"}),
    ],
)
def test_money_reads_amount_and_currency(text: str, expected: dict[str, Any]) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize("text", ["", "price on request", "€"])
def test_money_without_an_amount_is_missing(text: str) -> None:
    assert parse_money(text) is None


def test_money_takes_the_default_currency_when_the_text_shows_none() -> None:
    assert parse_money("12.50", "SEK") == {"amount": 12.5, "currency": "SEK"}
    assert parse_money("$12.50", "SEK") == {"amount": 12.5, "currency": "USD"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-04-05", "2021-04-05"),
        ("2023-04-05T10:00:00Z", "2023-04-05"),
        ("5 April 2021", "2021-04-05"),
        ("April 5th, 2021", "2021-04-05"),
        ("Wed, 5 Apr 2023 10:00", "2023-04-05"),
        ("04/05/2021", "2021-04-05"),  # month first, like US sites
        ("25/12/2021", "2021-12-25"),  # not a month: day first
        ("2021/4/5", "2021-04-05"),
        ("5.4.2021", "2021-04-05"),
        ("2021-02-30", None),
        ("soon", None),
        ("", None),
    ],
)
def test_date_becomes_an_iso_date(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


def test_date_format_resolves_ambiguous_dates() -> None:
    assert parse_date("04/05/2021", "%d/%m/%Y") == "2021-05-04"
    assert parse_date("2021-05-04", "%d/%m/%Y") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("42", 42), ("1,234 reviews", 1234), ("1.234.567", 1234567), ("-3", -3), ("4.5", None)],
)
def test_int(text: str, expected: int | None) -> None:
    assert parse_int(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4.5 out of 5", 4.5), ("12,5", 12.5), ("1,234.5", 1234.5), ("10 20", 10.0), ("n/a", None)],
)
def test_float(text: str, expected: float | None) -> None:
    assert parse_float(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("In stock", True), ("  YES ", True), ("Out of stock", False), ("0", False), ("maybe", None)],
)
def test_boolean(text: str, expected: bool | None) -> None:
    assert parse_boolean(text) == expected


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/products/7", "http://shop.test/products/7"),
        ("8", "http://shop.test/catalog/8"),
        ("https://other.test/x", "https://other.test/x"),
        (" ?page=2 ", "http://shop.test/catalog/list?page=2"),
        ("javascript:void(0)", None),
        ("", None),
    ],
)
def test_url_is_absolute(href: str, expected: str | None) -> None:
    assert parse_url(href, "http://shop.test/catalog/list") == expected


def test_list_keeps_every_match_typed_and_drops_the_unparsable() -> None:
    assert convert(["  eco ", "gift", " "], "list") == ["eco", "gift"]
    assert convert(["1", "x", "3"], "list", item_type="int") == [1, 3]
    assert convert(["/a", "/b"], "list", item_type="url", base_url="http://s.test/") == [
        "http://s.test/a",
        "http://s.test/b",
    ]
    assert convert([], "list") is None


def test_a_single_value_field_takes_the_first_match_that_parses() -> None:
    assert convert(["n/a", "€3.00", "€4.00"], "money") == {"amount": 3.0, "currency": "EUR"}
    assert convert(["  Hello \n  world "], "string") == "Hello world"
    assert convert(["", "  "], "string") is None
