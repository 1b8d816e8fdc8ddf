"""robots.txt per RFC 9309 (trawl.crawlers.sdk.robots): tables of (robots.txt, agent, URL,
allowed?) from the RFC's examples, Google's documented examples, and the edges real files
have (percent-encoding, comments, BOM, line ends, garbage, size)."""

from __future__ import annotations

import time

import pytest

from trawl.crawlers.sdk.robots import (
    MAX_BYTES,
    RobotsTxt,
    Rule,
    normalize_path,
    path_of,
    product_token,
)


def allowed(robots: str | bytes, agent: str, url: str) -> bool:
    return RobotsTxt.parse(robots).for_agent(agent).allowed(url)


RFC_EXAMPLE = """\
User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF
"""


@pytest.mark.parametrize(
    ("agent", "url", "expected"),
    [
        # RFC 9309 §5.1: the `*` group for agents no group names
        ("otherbot", "http://example.com/image.gif", False),
        ("otherbot", "http://example.com/image.gif?size=2", True),
        ("otherbot", "http://example.com/example/page.html", False),
        ("otherbot", "http://example.com/publications/paper", True),
        ("otherbot", "http://example.com/", True),
        # foobot's own group: Disallow:/ with two exceptions (no space after the colon)
        ("foobot", "http://example.com/", False),
        ("foobot", "http://example.com/example/page.html", True),
        ("foobot", "http://example.com/example/allowed.gif", True),
        ("foobot", "http://example.com/example/other.gif", False),
        ("FooBot", "http://example.com/example/other.gif", False),  # tokens ignore case
        # barbot and bazbot share one group; the `*` rules do not apply to them
        ("barbot", "http://example.com/example/page.html", False),
        ("bazbot", "http://example.com/example/page.html", False),
        ("barbot", "http://example.com/example/other.html", True),
        ("bazbot", "http://example.com/image.gif", True),
        # quxbot's group has no rules: everything is allowed, `*` does not apply
        ("quxbot", "http://example.com/image.gif", True),
        ("quxbot", "http://example.com/example/page.html", True),
    ],
)
def test_rfc_9309_example(agent: str, url: str, expected: bool) -> None:
    assert allowed(RFC_EXAMPLE, agent, url) is expected


def test_rfc_9309_longest_match_example() -> None:
    robots = "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n"
    assert not allowed(robots, "foobot", "http://example.com/example/page/disallowed.gif")
    assert allowed(robots, "foobot", "http://example.com/example/page/allowed.gif")


def google(allow: str) -> str:
    """Google's documented pattern examples are written as `disallow: /` + `allow: X`."""
    return f"user-agent: FooBot\ndisallow: /\nallow: {allow}\n"


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/fish", "/fish", True),
        ("/fish", "/fish.html", True),
        ("/fish", "/fish/salmon.html", True),
        ("/fish", "/fishheads", True),
        ("/fish", "/fishheads/yummy.html", True),
        ("/fish", "/fish.html?id=anything", True),
        ("/fish", "/Fish.asp", False),
        ("/fish", "/catfish", False),
        ("/fish", "/?id=fish", False),
        ("/fish", "/desert/fish", False),
        ("/fish*", "/fish", True),
        ("/fish*", "/fishheads/yummy.html", True),
        ("/fish*", "/fish.html?id=anything", True),
        ("/fish*", "/Fish.bar", False),
        ("/fish*", "/catfish", False),
        ("/fish/", "/fish/", True),
        ("/fish/", "/fish/salmon", True),
        ("/fish/", "/fish/?salmon", True),
        ("/fish/", "/fish/?id=anything", True),
        ("/fish/", "/fish", False),
        ("/fish/", "/fish.html", False),
        ("/fish/", "/animals/fish/", False),
        ("/fish/", "/Fish/Salmon.html", False),
        ("/*.php", "/filename.php", True),
        ("/*.php", "/folder/filename.php", True),
        ("/*.php", "/folder/filename.php?parameters", True),
        ("/*.php", "//folder/any.php.file.html", True),
        ("/*.php", "/filename.php/", True),
        ("/*.php", "/index?f=filename.php/", True),
        ("/*.php", "/", False),
        ("/*.php", "/php/", False),
        ("/*.php", "/index?php", False),
        ("/*.php", "/windows.PHP", False),
        ("/*.php$", "/filename.php", True),
        ("/*.php$", "/folder/filename.php", True),
        ("/*.php$", "/filename.php?parameters", False),
        ("/*.php$", "/filename.php/", False),
        ("/*.php$", "/filename.php5", False),
        ("/*.php$", "/php/", False),
        ("/*.php$", "/filename?php", False),
        ("/*.php$", "/aaaphpaaa", False),
        ("/*.php$", "//windows.PHP", False),
        ("/fish*.php", "/fish.php", True),
        ("/fish*.php", "/fishheads/catfish.php?parameters", True),
        ("/fish*.php", "/Fish.PHP", False),
        ("/", "/anything/at/all", True),
        ("/*", "/anything/at/all", True),
        ("/$", "/", True),
        ("/$", "/page", False),
        ("/a$b", "/a$b", True),  # `$` is only special at the end
        ("/a$b", "/a", False),
        ("/a**b", "/a-b", True),
        ("/a*$", "/a/anything", True),
    ],
)
def test_google_documented_path_patterns(pattern: str, path: str, expected: bool) -> None:
    assert allowed(google(pattern), "FooBot", f"http://foo.bar{path}") is expected


@pytest.mark.parametrize(
    ("rules", "url", "expected"),
    [
        # Google's "order of precedence" examples
        ("allow: /p\ndisallow: /", "/page", True),
        ("allow: /folder\ndisallow: /folder", "/folder/page", True),
        ("allow: /page\ndisallow: /*.htm", "/page.htm", False),
        ("allow: /$\ndisallow: /", "/", True),
        ("allow: /$\ndisallow: /", "/page.htm", False),
        # longest match, whatever the order of the lines
        ("disallow: /x/page.html\nallow: /x/", "/x/page.html", False),
        ("allow: /x/page.html\ndisallow: /x/", "/x/page.html", True),
        ("allow: /x/page.html\ndisallow: /x/", "/x/", False),
        ("disallow: /x\nallow: /x/", "/x", False),
        ("disallow: /x\nallow: /x/", "/x/", True),
        ("allow: /page\ndisallow: /*.html", "/page.html", False),
        ("allow: /page\ndisallow: /*.html", "/page", True),
        ("allow: /x/page.\ndisallow: /*.html", "/x/page.html", True),
        ("allow: /x/page.\ndisallow: /*.html", "/x/y.html", False),
        # ties go to Allow
        ("disallow: /\nallow: /", "/x", True),
        ("disallow: /x/page.html\nallow: /x/page.html", "/x/page.html", True),
        # an empty Disallow (or Allow) is no rule at all
        ("disallow:", "/x", True),
        ("disallow: \nallow: ", "/x", True),
        ("disallow:\ndisallow: /y", "/x", True),
        # rules are case-sensitive
        ("disallow: /X/", "/x/y", True),
        ("disallow: /x/", "/x/y", False),
        # the query string is part of what is matched
        ("disallow: /*?sessionid=", "/cart?sessionid=7", False),
        ("disallow: /*?sessionid=", "/cart", True),
        ("disallow: /search?q=", "/search?q=fish", False),
        ("disallow: /search?q=", "/search", True),
        ("disallow: /*&print=1$", "/a?x=1&print=1", False),
        ("disallow: /*&print=1$", "/a?x=1&print=10", True),
        # /robots.txt itself is always allowed
        ("disallow: /", "/robots.txt", True),
        ("disallow: /robots.txt", "/robots.txt", True),
        ("disallow: /", "/robots.txt?x=1", False),
        # a value neither a path nor a wildcard matches nothing
        ("disallow: fish", "/fish", True),
        ("disallow: http://foo.bar/fish", "/fish", True),
    ],
)
def test_precedence_and_special_cases(rules: str, url: str, expected: bool) -> None:
    robots = f"user-agent: FooBot\n{rules}\n"
    assert allowed(robots, "FooBot", f"http://foo.bar{url}") is expected


@pytest.mark.parametrize(
    ("rule", "url", "matches"),
    [
        # non-ASCII in a rule is compared as its UTF-8 percent-encoding
        ("/foo/bar/ツ", "http://foo.bar/foo/bar/%E3%83%84", True),
        ("/foo/bar/ツ", "http://foo.bar/foo/bar/%e3%83%84", True),
        ("/foo/bar/%E3%83%84", "http://foo.bar/foo/bar/%E3%83%84", True),
        ("/foo/bar/%e3%83%84", "http://foo.bar/foo/bar/%E3%83%84", True),
        ("/foo/bar/%E3%83%84", "/foo/bar/ツ", True),  # a raw path is encoded the same way
        ("/caf%C3%A9", "http://foo.bar/café", True),
        # escapes of unreserved characters are decoded on both sides (RFC 9309 §2.2.2)
        ("/foo/bar/%62%61%7A", "http://foo.bar/foo/bar/baz", True),
        ("/foo/bar/baz", "http://foo.bar/foo/bar/%62%61%7A", True),
        ("/%7Euser/", "http://foo.bar/~user/home", True),
        ("/~user/", "http://foo.bar/%7euser/home", True),
        # reserved characters are not: `%2F` is not `/`, `%3F` is not `?`
        ("/a%2Fb", "http://foo.bar/a/b", False),
        ("/a/b", "http://foo.bar/a%2Fb", False),
        ("/a%2fb", "http://foo.bar/a%2Fb", True),
        ("/a?b", "http://foo.bar/a%3Fb", False),
        ("/foo/bar?baz=https://foo.bar", "http://foo.bar/foo/bar?baz=https://foo.bar", True),
        # spaces and a stray `%` are escaped consistently
        ("/a b", "http://foo.bar/a%20b", True),
        ("/100%", "http://foo.bar/100%25", True),
        ("/100%zz", "http://foo.bar/100%25zz", True),
    ],
)
def test_percent_encoding_is_normalised_before_matching(rule: str, url: str, matches: bool) -> None:
    robots = f"user-agent: *\ndisallow: {rule}\n"
    assert allowed(robots, "FooBot", url) is not matches


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("/plain/path?a=1&b=2", "/plain/path?a=1&b=2"),
        ("/%7Efoo/%41%2d%2E%5f", "/~foo/A-._"),
        ("/%2f%3a%40", "/%2F%3A%40"),
        ("/café ツ", "/caf%C3%A9%20%E3%83%84"),
        ('/<"{|}>\\^`', "/%3C%22%7B%7C%7D%3E%5C%5E%60"),
        ("/*.gif$", "/*.gif$"),
        ("/50%", "/50%25"),
    ],
)
def test_normalize_path(raw: str, normalised: str) -> None:
    assert normalize_path(raw) == normalised


def test_path_of_keeps_the_query_and_drops_the_fragment() -> None:
    assert path_of("https://foo.bar") == "/"
    assert path_of("https://foo.bar/a/b?x=1#top") == "/a/b?x=1"
    assert path_of("/a?%7E=%2F") == "/a?~=%2F"
    assert path_of("//folder/a.php#x") == "//folder/a.php"  # a path, not a host


USER_AGENT_GROUPS = """\
User-agent: *
Disallow: /star/

User-agent: FooBot/2.1
Disallow: /foo/

User-agent: BARBOT
User-agent: bazbot
Disallow: /barbaz/

User-agent: Foo Images
Disallow: /images/

User-agent: foobot
Disallow: /more-foo/
Crawl-delay: 2
"""


@pytest.mark.parametrize(
    ("agent", "path", "expected"),
    [
        ("FooBot", "/foo/x", False),  # `FooBot/2.1` names FooBot
        ("foobot", "/more-foo/x", False),  # groups of one agent are merged
        ("FOOBOT", "/star/x", True),  # ... and `*` is then not used
        ("BarBot", "/barbaz/x", False),
        ("bazbot", "/barbaz/x", False),
        ("bazbot", "/foo/x", True),
        ("Foo", "/images/x", False),  # a value with a space names its first word
        ("Foo", "/foo/x", True),
        ("Foo", "/star/x", True),
        ("Fo", "/star/x", False),  # no prefix matching: Fo and FooBot differ, so `*` it is
        ("FooBotX", "/foo/x", True),
        ("FooBotX", "/star/x", False),
        ("", "/star/x", False),
    ],
)
def test_user_agent_groups(agent: str, path: str, expected: bool) -> None:
    assert allowed(USER_AGENT_GROUPS, agent, f"http://foo.bar{path}") is expected


def test_groups_are_ended_by_a_user_agent_line_after_rules_not_by_blank_lines() -> None:
    robots = (
        "allow: /foo/bar/\n"  # before any group: ignored
        "\n"
        "user-agent: FooBot\n"
        "disallow: /\n"
        "allow: /x/\n"
        "user-agent: BarBot\n"
        "disallow: /\n"
        "allow: /y/\n"
        "\n"
        "\n"
        "allow: /w/\n"
        "user-agent: BazBot\n"
        "\n"
        "user-agent: FooBot\n"
        "allow: /z/\n"
        "disallow: /\n"
    )
    cases = [
        ("FooBot", "/x/b", True),
        ("FooBot", "/z/d", True),
        ("FooBot", "/y/c", False),
        ("BarBot", "/y/c", True),
        ("BarBot", "/w/a", True),
        ("BarBot", "/z/d", False),
        ("BazBot", "/z/d", True),
        ("FooBot", "/foo/bar/", False),
        ("BazBot", "/foo/bar/", False),
    ]
    for agent, path, expected in cases:
        assert allowed(robots, agent, f"http://foo.bar{path}") is expected, (agent, path)


def test_without_a_matching_group_or_star_everything_is_allowed() -> None:
    robots = "user-agent: FooBot\ndisallow: /\nuser-agent: BarBot\ndisallow: /\n"
    assert allowed(robots, "QuxBot", "http://foo.bar/x")
    assert allowed("", "QuxBot", "http://foo.bar/x")


def test_star_groups_are_merged_too() -> None:
    robots = "user-agent: *\ndisallow: /a\n\nuser-agent: other\ndisallow: /\n\nuser-agent: *\ndisallow: /b\n"
    assert not allowed(robots, "FooBot", "/a")
    assert not allowed(robots, "FooBot", "/b")
    assert allowed(robots, "FooBot", "/c")


@pytest.mark.parametrize(
    ("user_agent", "token"),
    [
        ("TrawlBot/1.0 (+https://trawl.dev/bot)", "TrawlBot"),
        ("TrawlBot", "TrawlBot"),
        ("Trawl_Bot-News/2", "Trawl_Bot-News"),
        (
            "Mozilla/5.0 (compatible; ExampleBot/0.1; +https://www.example.com/bot.html)",
            "ExampleBot",
        ),
        ("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "Mozilla"),
        ("  EvilBot/1.0", "EvilBot"),
        ("", ""),
        ("1.0", ""),
    ],
)
def test_product_token(user_agent: str, token: str) -> None:
    assert product_token(user_agent) == token


@pytest.mark.parametrize(
    "robots",
    [
        "User-agent: FooBot\nDisallow: /x\n",
        "User-agent: FooBot\r\nDisallow: /x\r\n",
        "User-agent: FooBot\rDisallow: /x\r",
        "User-agent: FooBot\nDisallow: /x",  # no final newline
        "User-agent: FooBot\r\n\n\rDisallow: /x\r\n",  # mixed line ends
        "\ufeffUser-agent: FooBot\nDisallow: /x\n",
        b"\xef\xbb\xbfUser-agent: FooBot\nDisallow: /x\n",  # BOM in bytes
        "USER-AGENT: FooBot\nDISALLOW: /x\n",
        "uSeR-aGeNt: foobot\ndIsAlLoW: /x\n",
        "   User-agent   :   FooBot   \n\t Disallow :\t/x   \n",
        "User-agent FooBot\nDisallow /x\n",  # a missing colon is read as meant
        "User-agent\tFooBot\nDisallow\t/x\n",
        "# comment\nUser-agent: FooBot # our bot\n# Disallow: /\nDisallow: /x # private\n",
        "User-agent: FooBot\nDisallow: /x#fragment-like comment\n",
        "Useragent: FooBot\nDissallow: /x\n",  # misspellings seen in the wild
        "User-agent: FooBot\nNoindex: /\nfoo: bar\n\x00\x01garbage\nhello world\n:\n:::\nDisallow: /x\n",
        "User-agent: FooBot\n<html><body>Disallow: /</body></html>\nDisallow: /x\n",
        b"User-agent: FooBot\n\xff\xfe\xfd not utf-8\nDisallow: /x\n",
        "Sitemap: https://foo.bar/sitemap.xml\nUser-agent: FooBot\nSitemap: /s.xml\nDisallow: /x\n",
    ],
)
def test_syntax_variants_all_disallow_x_only(robots: str | bytes) -> None:
    rules = RobotsTxt.parse(robots).for_agent("FooBot")
    assert not rules.allowed("http://foo.bar/x")
    assert not rules.allowed("http://foo.bar/x/y")
    assert rules.allowed("http://foo.bar/y")
    assert rules.allowed("http://foo.bar/")


@pytest.mark.parametrize(
    "robots",
    [
        "<!doctype html><html><head><title>Not found</title></head><body>Oops</body></html>",
        "\x00\x01\x02\x03",
        "Disallow: /\n",  # no group
        "User-agent: *\nDisallow:\n",
        "\n\n\n",
    ],
)
def test_files_without_applicable_rules_allow_everything(robots: str) -> None:
    assert allowed(robots, "FooBot", "http://foo.bar/any/path?q=1")


def test_sitemaps_are_collected_wherever_they_appear() -> None:
    robots = RobotsTxt.parse(
        "Sitemap: https://foo.bar/a.xml\nUser-agent: *\nSitemap: https://foo.bar/b.xml\n"
        "Disallow: /x\nsitemap:\n"
    )
    assert robots.sitemaps == ["https://foo.bar/a.xml", "https://foo.bar/b.xml"]
    assert not robots.for_agent("FooBot").allowed("/x")


@pytest.mark.parametrize(
    ("robots", "agent", "delay"),
    [
        ("User-agent: *\nCrawl-delay: 5\n", "FooBot", 5.0),
        ("User-agent: *\nCrawl-delay: 0.5\n", "FooBot", 0.5),
        ("User-agent: *\nCrawl-delay: 5\nUser-agent: FooBot\nDisallow: /x\n", "FooBot", None),
        ("User-agent: FooBot\nCrawl-delay: 1\n\nUser-agent: FooBot\nCrawl-delay: 3\n", "FooBot", 3),
        ("User-agent: *\nCrawl-delay: soon\n", "FooBot", None),
        ("User-agent: *\nCrawl-delay: -1\n", "FooBot", None),
        ("User-agent: *\nCrawl-delay: nan\n", "FooBot", None),
        ("Crawl-delay: 9\nUser-agent: *\n", "FooBot", None),
    ],
)
def test_crawl_delay(robots: str, agent: str, delay: float | None) -> None:
    assert RobotsTxt.parse(robots).for_agent(agent).crawl_delay == delay


def test_content_beyond_500_kib_is_ignored() -> None:
    head = "User-agent: *\nDisallow: /early\n"
    padding = "# " + "x" * 1000 + "\n"
    body = head + padding * (MAX_BYTES // len(padding) + 10) + "Disallow: /late\n"
    rules = RobotsTxt.parse(body.encode()).for_agent("FooBot")
    assert not rules.allowed("/early")
    assert rules.allowed("/late")


def test_a_line_cut_at_the_limit_is_dropped_not_half_read() -> None:
    head = "User-agent: *\n"
    line = "Disallow: /abcdefghij\n"
    padding = "#" * (MAX_BYTES - len(head) - 12) + "\n"  # the cut lands inside `line`
    body = (head + padding + line).encode()
    assert len(body) > MAX_BYTES > len(head + padding)
    rules = RobotsTxt.parse(body).for_agent("FooBot")
    assert rules.allowed("/ab")  # not `Disallow: /ab`, the half line
    assert rules.allowed("/abcdefghij")


def test_a_file_just_under_the_limit_is_read_whole() -> None:
    head = "User-agent: *\n"
    line = "Disallow: /last\n"
    padding = "#" * (MAX_BYTES - len(head) - len(line) - 1) + "\n"
    body = (head + padding + line).encode()
    assert len(body) == MAX_BYTES
    assert not allowed(body, "FooBot", "/last")


def test_thousands_of_rules_match_quickly() -> None:
    lines = ["User-agent: *"]
    lines += [f"Disallow: /section-{n}/" for n in range(10_000)]
    lines += [f"Allow: /section-{n}/public" for n in range(0, 10_000, 2)]
    lines += [f"Disallow: /*.ext{n}$" for n in range(1_000)]
    rules = RobotsTxt.parse("\n".join(lines)).for_agent("FooBot")
    started = time.monotonic()
    for n in range(2_000):
        assert rules.allowed(f"/section-{n}/public/page") is (n % 2 == 0)
        assert not rules.allowed(f"/other/{n}.ext{n % 1_000}")
        assert rules.allowed(f"/other/{n}.html")
    assert time.monotonic() - started < 10  # ~0.5 s here; the bound is loose for CI


def test_many_wildcards_do_not_blow_up() -> None:
    rule = Rule(allow=False, pattern="/" + "*a" * 200 + "b")
    started = time.monotonic()
    assert not rule.matches("/" + "a" * 50_000)
    assert rule.matches("/" + "a" * 50_000 + "b")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/", "/", True),
        ("/a", "/", False),
        ("*", "/anything", True),
        ("*.gif$", "/a/b.gif", True),
        ("*.gif$", "/a/b.gif?x", False),
        ("/a*b*c", "/a-c-b-c", True),
        ("/a*b*c$", "/abcabd", False),
        ("/a*b*c$", "/abcabc", True),
        ("/a*bc$", "/abc", True),
        ("/ab*bc$", "/abc", False),  # the pieces may not overlap
    ],
)
def test_rule_matching(pattern: str, path: str, matches: bool) -> None:
    assert Rule(allow=False, pattern=pattern).matches(path) is matches
