"""Typed values from scraped text: the `type` of a generic.html / generic.sitemap field.

Every parser answers None when the text holds no such value, so the caller can treat it
as a missing field. Shapes: int, float and boolean are JSON scalars; money is
`{"amount": number, "currency": "EUR" | null}`; date is an ISO 8601 date ("2024-03-05");
url is absolute; list is every match (each typed by `item_type`, string by default)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urljoin

FieldType = Literal["string", "int", "float", "money", "date", "url", "boolean", "list"]
FIELD_TYPES: tuple[str, ...] = ("string", "int", "float", "money", "date", "url", "boolean", "list")

# Digits grouped by spaces or apostrophes (1 234 / 1'234) only in threes, so "10 20" is 10.
# The integer part may be absent (".99", "$.99").
_NUMBER = re.compile(
    r"[-+\u2212]?(?:\d{1,3}(?:[ \u00a0\u202f'\u2019]\d{3})+|\d+|(?=[.,]\d))(?:[.,]\d+)*"
)
_DOT_THOUSANDS = re.compile(r"^\d{1,3}\.\d{3}$")
_GROUPING = re.compile(r"[ \u00a0\u202f'\u2019]")
_WHITESPACE = re.compile(r"\s+")

# Longest first, so "US$" is not read as "$".
_CURRENCY_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("CA$", "CAD"),
    ("AU$", "AUD"),
    ("US$", "USD"),
    ("NZ$", "NZD"),
    ("HK$", "HKD"),
    ("A$", "AUD"),
    ("C$", "CAD"),
    ("R$", "BRL"),
    ("Fr.", "CHF"),
    ("zł", "PLN"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("¥", "JPY"),
    ("₹", "INR"),
    ("₩", "KRW"),
    ("₺", "TRY"),
    ("$", "USD"),
)
_ISO_CURRENCIES = frozenset(
    {
        *("EUR", "USD", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "CNY", "HKD", "SEK", "NOK"),
        *("DKK", "PLN", "CZK", "HUF", "RON", "BGN", "INR", "BRL", "MXN", "ZAR", "SGD", "KRW"),
        *("TRY", "ILS", "AED", "SAR", "THB"),
    }
)
_ISO_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")

_TRUE = frozenset({"true", "yes", "y", "1", "on", "in stock", "instock", "available"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "out of stock", "outofstock", "unavailable"})

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T ])")
_ORDINAL = re.compile(r"(?<=\d)(st|nd|rd|th)\b", re.IGNORECASE)
_WEEKDAY = re.compile(r"\b(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\b\.?", re.IGNORECASE)
_TIME_SUFFIX = re.compile(r"\s+\d{1,2}:\d{2}.*$")
# Slashes read month first (as US sites and dateutil do), then day first when that fails.
_DATE_FORMATS = (
    "%d %B %Y",
    "%d %b %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%B %Y",
    "%b %Y",
)


def clean_text(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _decimal_from_token(token: str, *, money: bool = False) -> Decimal | None:
    """Reads "1,234.50", "1.234,50", "12,99", "1 234" the way people write them. For money
    (two decimals at most in practice) a single dot before exactly three digits groups
    thousands, as in "1.299 €"."""
    sign = -1 if token[0] in "-\u2212" else 1
    digits = _GROUPING.sub("", token.lstrip("+-\u2212"))
    if "," in digits and "." in digits:
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
        group_mark = "." if decimal_mark == "," else ","
        digits = digits.replace(group_mark, "").replace(decimal_mark, ".")
    elif "," in digits:
        # One comma before exactly three digits groups thousands; otherwise it is a decimal.
        head, _, tail = digits.rpartition(",")
        grouping = digits.count(",") > 1 or len(tail) == 3
        digits = digits.replace(",", "") if grouping else f"{head}.{tail}"
    elif digits.count(".") > 1 or (money and _DOT_THOUSANDS.match(digits)):
        digits = digits.replace(".", "")
    try:
        return sign * Decimal(digits)
    except InvalidOperation:
        return None


def parse_decimal(text: str, *, money: bool = False) -> Decimal | None:
    match = _NUMBER.search(text)
    if match is None:
        return None
    value = _decimal_from_token(match.group(), money=money)
    # "-€5.00": a minus before the currency symbol still makes the amount negative.
    prefix = text[: match.start()].strip()
    if value is not None and value > 0 and prefix.startswith(("-", "\u2212")):
        value = -value
    return value


def parse_int(text: str) -> int | None:
    value = parse_decimal(text)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


def parse_float(text: str) -> float | None:
    value = parse_decimal(text)
    return None if value is None else float(value)


def parse_currency(text: str) -> str | None:
    for match in _ISO_CODE.finditer(text):
        if match.group(1) in _ISO_CURRENCIES:
            return match.group(1)
    for symbol, code in _CURRENCY_SYMBOLS:
        if symbol in text:
            return code
    return None


def parse_money(text: str, default_currency: str | None = None) -> dict[str, Any] | None:
    amount = parse_decimal(text, money=True)
    if amount is None:
        return None
    return {"amount": float(amount), "currency": parse_currency(text) or default_currency}


def parse_boolean(text: str) -> bool | None:
    word = clean_text(text).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def parse_date(text: str, date_format: str | None = None) -> str | None:
    """An ISO 8601 date from ISO text, "5 April 2021", "April 5th, 2021", "04/05/2021"…"""
    value = clean_text(text)
    if date_format:
        try:
            return datetime.strptime(value, date_format).date().isoformat()
        except ValueError:
            return None
    iso = _ISO_DATE.match(value)
    if iso:
        return _safe_date(*(int(part) for part in iso.groups()))
    value = _WEEKDAY.sub("", _ORDINAL.sub("", value)).replace(",", " ")
    value = clean_text(_TIME_SUFFIX.sub("", clean_text(value)))
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _safe_date(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_url(text: str, base_url: str) -> str | None:
    href = text.strip()
    if not href or href.lower().startswith(("javascript:", "mailto:", "data:")):
        return None
    return urljoin(base_url, href)


def convert_one(
    text: str,
    field_type: str,
    *,
    base_url: str = "",
    currency: str | None = None,
    date_format: str | None = None,
) -> Any:
    """One scraped string as `field_type` (not "list"); None when it is not one."""
    if field_type == "int":
        return parse_int(text)
    if field_type == "float":
        return parse_float(text)
    if field_type == "money":
        return parse_money(text, currency)
    if field_type == "date":
        return parse_date(text, date_format)
    if field_type == "url":
        return parse_url(text, base_url)
    if field_type == "boolean":
        return parse_boolean(text)
    return clean_text(text) or None


def convert(
    texts: Sequence[str],
    field_type: str,
    *,
    item_type: str = "string",
    base_url: str = "",
    currency: str | None = None,
    date_format: str | None = None,
) -> Any:
    """The field's value from every match of its selector; None when there is none."""
    options: dict[str, Any] = {
        "base_url": base_url,
        "currency": currency,
        "date_format": date_format,
    }
    if field_type == "list":
        values = [convert_one(t, item_type, **options) for t in texts]
        present = [v for v in values if v is not None]
        return present or None
    for text in texts:
        value = convert_one(text, field_type, **options)
        if value is not None:
            return value
    return None
