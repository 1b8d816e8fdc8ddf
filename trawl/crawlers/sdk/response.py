"""A fetched page and the helpers a crawler parses it with (parsel CSS and XPath)."""

from __future__ import annotations

import gzip
import json
from functools import cached_property
from typing import Any
from urllib.parse import urljoin

import httpx
from parsel import Selector, SelectorList

_GZIP_MAGIC = b"\x1f\x8b"


class Page:
    """One final HTTP response (after redirects): `url` is where the body came from."""

    def __init__(
        self,
        url: str,
        status: int,
        headers: httpx.Headers,
        content: bytes,
        *,
        encoding: str = "utf-8",
        request_url: str | None = None,
    ) -> None:
        self.url = url
        self.status = status
        self.headers = headers
        self.content = content
        self.encoding = encoding
        self.request_url = request_url or url

    @classmethod
    def from_httpx(cls, response: httpx.Response, request_url: str | None = None) -> Page:
        return cls(
            str(response.url),
            response.status_code,
            response.headers,
            response.content,
            encoding=response.encoding or "utf-8",
            request_url=request_url,
        )

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @cached_property
    def body(self) -> bytes:
        """The content, gunzipped when it is a gzip file (e.g. `sitemap.xml.gz`)."""
        if self.content.startswith(_GZIP_MAGIC):
            try:
                return gzip.decompress(self.content)
            except (OSError, EOFError):
                return self.content
        return self.content

    @cached_property
    def text(self) -> str:
        return self.body.decode(self.encoding, errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.text)

    @cached_property
    def selector(self) -> Selector:
        """The HTML document; use `xml()` for XML (sitemaps, feeds)."""
        return Selector(text=self.text, base_url=self.url)

    def xml(self, *, remove_namespaces: bool = True) -> Selector:
        """The body as XML; namespaces removed by default so `//url/loc` just works."""
        selector = Selector(text=self.text, type="xml", base_url=self.url)
        if remove_namespaces:
            selector.remove_namespaces()
        return selector

    def css(self, query: str) -> SelectorList[Selector]:
        return self.selector.css(query)

    def xpath(self, query: str, **variables: Any) -> SelectorList[Selector]:
        return self.selector.xpath(query, **variables)

    @cached_property
    def base_url(self) -> str:
        """Where relative links resolve from: a `<base href>` wins over the page URL."""
        base = self.selector.css("base::attr(href)").get()
        return urljoin(self.url, base.strip()) if base else self.url

    def urljoin(self, href: str) -> str:
        return urljoin(self.base_url, href.strip())

    def links(self, query: str = "a") -> list[str]:
        """Absolute URLs of the links `query` matches (elements with href, or attribute nodes)."""
        urls = []
        for node in self.css(query):
            href = node.root if isinstance(node.root, str) else _href_of(node)
            if href and not href.strip().lower().startswith(("javascript:", "mailto:", "#")):
                urls.append(self.urljoin(href))
        return urls

    def __repr__(self) -> str:
        return f"<Page {self.status} {self.url}>"


Response = Page


def _href_of(node: Selector) -> str | None:
    """The element's own href, else its first descendant link's (a card around a link)."""
    return node.attrib.get("href") or node.css("a::attr(href)").get()
