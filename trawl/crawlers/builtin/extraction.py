"""Field selectors shared by generic.html and generic.sitemap: from a page (or an item
inside it) to one record, typed by field_types.

A field is `{selector, attr?, type?, required?, ...}`. The selector is CSS, or XPath when it
starts with "/", "./" or "(" or is given as `xpath` instead ("." is the item itself, e.g.
for an attribute of the item element). Without `attr` a match's value
is its text content (an XPath that selects text or an attribute gives that string)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parsel import Selector, SelectorList

from trawl.crawlers.builtin.field_types import FIELD_TYPES, clean_text, convert
from trawl.crawlers.sdk import CrawlContext, Page

FIELD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "selector": {
            "type": "string",
            "minLength": 1,
            "description": 'CSS, or XPath when it starts with "/", "./" or "(" ("." is the item).',
        },
        "xpath": {"type": "string", "minLength": 1, "description": "An explicit XPath."},
        "attr": {"type": "string", "minLength": 1, "description": "Take this attribute."},
        "type": {"enum": list(FIELD_TYPES), "default": "string"},
        "item_type": {
            "enum": [t for t in FIELD_TYPES if t != "list"],
            "default": "string",
            "description": "With type list: the type of each element.",
        },
        "required": {"type": "boolean", "default": False},
        "currency": {
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "With type money: the currency when the text shows none.",
        },
        "date_format": {
            "type": "string",
            "description": "With type date: a strptime format, e.g. %d/%m/%Y.",
        },
    },
    "oneOf": [{"required": ["selector"]}, {"required": ["xpath"]}],
}

FIELDS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": FIELD_SCHEMA,
    "description": "Record field name → how to find it on an item page (or in an item).",
}

ITEM_SELECTOR_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "CSS of the items on a page; fields are then looked up inside each.",
}
URL_FIELD_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "Also put the item page's URL in this record field.",
}

# The record shapes the field types produce, for reports to reference in their schemas.
TYPED_VALUE_DEFS: dict[str, Any] = {
    "money": {
        "type": "object",
        "required": ["amount", "currency"],
        "properties": {
            "amount": {"type": "number"},
            "currency": {"type": ["string", "null"], "pattern": "^[A-Z]{3}$"},
        },
    },
    "date": {"type": "string", "format": "date"},
    "url": {"type": "string", "format": "uri"},
}

_XPATH_PREFIXES = ("/", "./", "../", "(")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    query: str
    is_xpath: bool
    attr: str | None = None
    type: str = "string"
    item_type: str = "string"
    required: bool = False
    currency: str | None = None
    date_format: str | None = None

    @classmethod
    def from_params(cls, name: str, raw: dict[str, Any]) -> FieldSpec:
        xpath = raw.get("xpath")
        query = xpath or raw["selector"]
        return cls(
            name=name,
            query=query,
            is_xpath=bool(xpath) or query == "." or query.startswith(_XPATH_PREFIXES),
            attr=raw.get("attr"),
            type=raw.get("type", "string"),
            item_type=raw.get("item_type", "string"),
            required=raw.get("required", False),
            currency=raw.get("currency"),
            date_format=raw.get("date_format"),
        )


def parse_fields(raw: dict[str, dict[str, Any]]) -> list[FieldSpec]:
    return [FieldSpec.from_params(name, spec) for name, spec in raw.items()]


def _matches(node: Selector, spec: FieldSpec) -> SelectorList[Selector]:
    return node.xpath(spec.query) if spec.is_xpath else node.css(spec.query)


def _value_of(match: Selector, attr: str | None) -> str | None:
    if isinstance(match.root, str):  # the selector picked a text or attribute node
        return match.root
    if attr:
        return match.attrib.get(attr)
    return " ".join(match.xpath(".//text()").getall())


def select_texts(node: Selector, spec: FieldSpec) -> list[str]:
    texts = (_value_of(match, spec.attr) for match in _matches(node, spec))
    return [text for text in texts if text is not None and clean_text(text)]


def extract(
    node: Selector, specs: list[FieldSpec], base_url: str
) -> tuple[dict[str, Any], list[str]]:
    """The record (fields found) and the names of required fields that were not found."""
    record: dict[str, Any] = {}
    missing: list[str] = []
    for spec in specs:
        value = convert(
            select_texts(node, spec),
            spec.type,
            item_type=spec.item_type,
            base_url=base_url,
            currency=spec.currency,
            date_format=spec.date_format,
        )
        if value is not None:
            record[spec.name] = value
        elif spec.required:
            missing.append(spec.name)
    return record, missing


def emit_item(
    ctx: CrawlContext,
    node: Selector,
    specs: list[FieldSpec],
    page: Page,
    url_field: str | None = None,
) -> bool:
    """Emits the item; one missing required field makes it an error with a WARNING line."""
    record, missing = extract(node, specs, page.base_url)
    if missing:
        ctx.counters.errors += 1
        ctx.log("WARNING", f"item on {page.url} not emitted: required {', '.join(missing)} missing")
        return False
    if not record:
        ctx.log("DEBUG", f"an item on {page.url} has none of the fields; nothing to emit")
        return False
    if url_field:
        record[url_field] = page.url
    return ctx.emit(record)


def emit_page_items(
    ctx: CrawlContext,
    page: Page,
    specs: list[FieldSpec],
    item_selector: str | None = None,
    url_field: str | None = None,
) -> int:
    """Every item `item_selector` finds on the page, or the page itself as one item."""
    nodes = page.css(item_selector) if item_selector else [page.selector]
    return sum(emit_item(ctx, node, specs, page, url_field) for node in nodes)
