"""robots.txt as RFC 9309 reads it: a parser and a matcher, pure (no network, no clock).

    rules = RobotsTxt.parse(body).for_agent(product_token(user_agent))
    rules.allowed("https://example.com/shop/cart?id=1")   # path and query are matched

- Groups: one or more `user-agent` lines followed by rules; a `user-agent` line after a
  rule starts the next group, blank lines do not. The group whose product token equals
  ours (case-insensitively) wins over `*`; all groups naming the same agent are merged;
  rules before the first group are ignored. A matching group without rules allows all.
- Rules: `*` matches any run of characters, a final `$` anchors at the end; the longest
  pattern that matches decides and Allow wins a tie; an empty `Disallow:` is no rule.
- Both sides are compared percent-normalised (RFC 9309 §2.2.2): escapes of unreserved
  characters decoded, other escapes upper-cased, non-ASCII and unsafe bytes escaped as
  UTF-8. Reserved characters (`/`, `?`, `=`, `:`, ...) are compared as written, since
  `%2F` and `/` mean different things in a URI.
- `/robots.txt` itself is always allowed. Only the first 500 KiB are read (the RFC's
  minimum); a line cut there is dropped. Comments, a BOM, CR/LF/CRLF line ends, keys in
  any case, a missing colon (`Disallow /x`) and common misspellings are accepted;
  anything else is skipped line by line."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_BYTES = 500 * 1024
ROBOTS_PATH = "/robots.txt"

_KEYS = {
    "user-agent": "user-agent",
    "useragent": "user-agent",
    "user agent": "user-agent",
    "allow": "allow",
    "disallow": "disallow",
    "dissallow": "disallow",
    "dissalow": "disallow",
    "disalow": "disallow",
    "diasllow": "disallow",
    "disallaw": "disallow",
    "crawl-delay": "crawl-delay",
    "crawldelay": "crawl-delay",
    "sitemap": "sitemap",
    "site-map": "sitemap",
}
_LINE_END = re.compile(r"\r\n|\r|\n")
_TOKEN = re.compile(r"[A-Za-z_-]+")
_COMPATIBLE = re.compile(r"\(compatible;\s*([A-Za-z_-]+)", re.IGNORECASE)
# A valid escape, or a byte that must be escaped: non-ASCII, control, space or unsafe.
_TO_NORMALISE = re.compile(r"%([0-9A-Fa-f]{2})|[^\x21-\x7e]|[\"<>\\^`{|}]|%")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def normalize_path(path: str) -> str:
    """The form rules and URLs are compared in: `/%7Efoo/caf%c3%a9 x` → `/~foo/caf%C3%A9%20x`."""
    return _TO_NORMALISE.sub(_normalise_match, path)


def _normalise_match(match: re.Match[str]) -> str:
    escaped = match.group(1)
    if escaped is not None:
        char = chr(int(escaped, 16))
        return char if char in _UNRESERVED else f"%{escaped.upper()}"
    raw = match.group(0).encode("utf-8", errors="replace")
    return "".join(f"%{byte:02X}" for byte in raw)


def path_of(url: str) -> str:
    """What rules are matched against: the path (`/` when empty) and `?query`, normalised.
    `url` is an absolute URL or a path (`//a/b` is then a path, not a host)."""
    if url.startswith("/"):
        path = url.split("#", 1)[0]
    else:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return normalize_path(path)


def product_token(user_agent: str) -> str:
    """The name a crawler looks itself up by: `TrawlBot/1.0 (+https://…)` → `TrawlBot`;
    in a browser-style `Mozilla/5.0 (compatible; FooBot/2.1; …)` it is `FooBot`."""
    agent = user_agent.strip()
    compatible = _COMPATIBLE.search(agent)
    if agent.lower().startswith("mozilla/") and compatible:
        return compatible.group(1)
    token = _TOKEN.match(agent)
    return token.group(0) if token else ""


@dataclass(frozen=True, slots=True)
class Rule:
    """One Allow or Disallow line; `pattern` is normalised and decides precedence by length."""

    allow: bool
    pattern: str
    _pieces: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _anchored: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        anchored = self.pattern.endswith("$")
        body = self.pattern[:-1] if anchored else self.pattern
        object.__setattr__(self, "_anchored", anchored)
        object.__setattr__(self, "_pieces", tuple(body.split("*")))

    @property
    def prefix(self) -> str:
        """The literal start every matching path begins with (empty for `*…`)."""
        return self._pieces[0]

    def matches(self, path: str) -> bool:
        """Whether the normalised `path` matches; linear, so no pattern can blow up."""
        pieces = self._pieces
        if not path.startswith(pieces[0]):
            return False
        position = len(pieces[0])
        if len(pieces) == 1:
            return not self._anchored or len(path) == position
        for piece in pieces[1:-1]:
            found = path.find(piece, position)
            if found < 0:
                return False
            position = found + len(piece)
        last = pieces[-1]
        if self._anchored:
            return path.endswith(last) and len(path) - len(last) >= position
        return path.find(last, position) >= 0


class AgentRules:
    """The rules that apply to one crawler on one host, ready to match URLs."""

    def __init__(self, rules: Iterable[Rule] = (), crawl_delay: float | None = None) -> None:
        self.rules = tuple(rules)
        self.crawl_delay = crawl_delay
        # Rules bucketed by their literal prefix: a path only meets rules its own prefixes
        # name, so a robots.txt with thousands of rules costs a few dict look-ups per URL.
        self._by_prefix: dict[str, list[Rule]] = {}
        for rule in self.rules:
            self._by_prefix.setdefault(rule.prefix, []).append(rule)
        self._prefix_lengths = sorted({len(prefix) for prefix in self._by_prefix})

    @classmethod
    def allow_all(cls) -> AgentRules:
        return cls()

    @classmethod
    def disallow_all(cls) -> AgentRules:
        return cls([Rule(allow=False, pattern="/")])

    def decisive_rule(self, url: str) -> Rule | None:
        """The rule that decides for `url` (a URL or a path): the longest matching pattern,
        Allow before Disallow at equal length; None when no rule matches."""
        return self._decide(path_of(url))

    def allowed(self, url: str) -> bool:
        path = path_of(url)
        if path == ROBOTS_PATH:
            return True
        rule = self._decide(path)
        return rule is None or rule.allow

    def _decide(self, path: str) -> Rule | None:
        best: Rule | None = None
        for length in self._prefix_lengths:
            if length > len(path):
                break
            for rule in self._by_prefix.get(path[:length], ()):
                if best is not None and _rank(rule) <= _rank(best):
                    continue
                if rule.matches(path):
                    best = rule
        return best

    def __repr__(self) -> str:
        return f"<AgentRules {len(self.rules)} rules, crawl_delay={self.crawl_delay}>"


def _rank(rule: Rule) -> tuple[int, bool]:
    return len(rule.pattern), rule.allow


@dataclass(slots=True)
class Group:
    """The lines from one run of `user-agent` lines up to the next such run."""

    agents: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    crawl_delay: float | None = None


@dataclass(slots=True)
class RobotsTxt:
    """A parsed robots.txt: its groups in file order and the sitemaps it lists."""

    groups: list[Group] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, content: bytes | str) -> RobotsTxt:
        robots = cls()
        _Parser(robots).feed(_lines(content))
        return robots

    def for_agent(self, token: str) -> AgentRules:
        """The merged groups naming `token` (case-insensitively), else the merged `*` groups,
        else no rules at all."""
        wanted = token.lower()
        chosen = [g for g in self.groups if wanted and wanted in g.agents]
        if not chosen:
            chosen = [g for g in self.groups if "*" in g.agents]
        delays = [g.crawl_delay for g in chosen if g.crawl_delay is not None]
        return AgentRules(
            (rule for group in chosen for rule in group.rules), max(delays) if delays else None
        )


def _lines(content: bytes | str) -> list[str]:
    raw = content.encode("utf-8", errors="replace") if isinstance(content, str) else content
    truncated = len(raw) > MAX_BYTES
    text = raw[:MAX_BYTES].decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = _LINE_END.split(text)
    if truncated and len(lines) > 1:
        lines.pop()  # cut mid-line: half a path could allow or forbid the wrong thing
    return lines


def _key_value(line: str) -> tuple[str, str] | None:
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    key, colon, value = line.partition(":")
    if not colon:  # `Disallow /x`: a missing colon is a common slip, its meaning is plain
        key, *rest = line.split(None, 1)
        value = rest[0] if rest else ""
    name = _KEYS.get(key.strip().lower())
    return (name, value.strip()) if name else None


class _Parser:
    def __init__(self, robots: RobotsTxt) -> None:
        self.robots = robots
        self.group: Group | None = None
        self.reading_agents = False

    def feed(self, lines: Iterable[str]) -> None:
        for line in lines:
            record = _key_value(line)
            if record is not None:
                self.record(*record)

    def record(self, key: str, value: str) -> None:
        if key == "sitemap":
            if value:
                self.robots.sitemaps.append(value)
            return
        if key == "user-agent":
            self.agent(value)
            return
        group = self.group
        if group is None:
            return  # rules before any user-agent line belong to no one
        self.reading_agents = False
        if key == "crawl-delay":
            group.crawl_delay = _delay(value, group.crawl_delay)
        elif value.startswith(("/", "*")):
            group.rules.append(Rule(allow=key == "allow", pattern=normalize_path(value)))

    def agent(self, value: str) -> None:
        if self.group is None or not self.reading_agents:
            self.group = Group()
            self.robots.groups.append(self.group)
            self.reading_agents = True
        if value.startswith("*"):
            self.group.agents.append("*")
            return
        token = _TOKEN.match(value)  # `FooBot/2.1` and `FooBot Images` both name FooBot
        if token is not None:
            self.group.agents.append(token.group(0).lower())


def _delay(value: str, current: float | None) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return current
    return seconds if math.isfinite(seconds) and seconds >= 0 else current
