import codecs
from urllib.parse import urldefrag, urljoin

import pytest
from hypothesis import given
from hypothesis import strategies as st
from w3lib.url import safe_url_string

from services.crawler.domain.links import absolute_url, decode_html, extract_links, select_href

PAGE = """<!doctype html><html><head>
<link rel="canonical" href="/articles/1">
<link rel="next" href="?page=2">
<link rel="stylesheet" href="/style.css">
</head><body>
<a href="/a">A</a>
<a href="/a#section">A again, other fragment</a>
<a href="b.html">B relative</a>
<a href="  /c\n  ">C with whitespace</a>
<a href="https://other.example/x">off site</a>
<a href="mailto:me@example.com">mail</a>
<a href="javascript:void(0)">js</a>
<a href="data:text/html,hi">data</a>
<a href="tel:+1555">tel</a>
<a href="#top">fragment only</a>
<a href="">empty</a>
<a href="/secret" rel="nofollow">nofollow</a>
<a href="/sponsored" rel="Sponsored NOFOLLOW">nofollow, mixed case</a>
<a href="/more" rel="next">next anchor</a>
<a>no href</a>
<a href="/caf\u00e9 menu">unicode</a>
</body></html>"""


def test_links_are_absolute_unique_and_followable() -> None:
    page = extract_links(PAGE, "https://example.com/dir/page.html", follow_nofollow=False)
    assert page.links == [
        "https://example.com/a",
        "https://example.com/dir/b.html",
        "https://example.com/c",
        "https://other.example/x",
        "https://example.com/more",
        "https://example.com/caf%C3%A9%20menu",
    ]
    assert page.next_links == ["https://example.com/more", "https://example.com/dir/page.html?page=2"]
    assert page.canonical == "https://example.com/articles/1"
    assert page.nofollow_skipped == 2


def test_nofollow_links_are_followed_when_configured() -> None:
    page = extract_links(PAGE, "https://example.com/dir/page.html", follow_nofollow=True)
    assert "https://example.com/secret" in page.links
    assert "https://example.com/sponsored" in page.links
    assert page.nofollow_skipped == 0


def test_base_href_is_honoured() -> None:
    html = (
        '<html><head><base href="https://cdn.example.com/root/"></head><body><a href="x">x</a></body></html>'
    )
    assert extract_links(html, "https://example.com/", follow_nofollow=False).links == [
        "https://cdn.example.com/root/x"
    ]
    relative_base = '<base href="/sub/"><a href="y">y</a>'
    assert extract_links(relative_base, "https://example.com/a/b", follow_nofollow=False).links == [
        "https://example.com/sub/y"
    ]
    javascript_base = '<base href="javascript:alert(1)"><a href="z">z</a>'
    assert extract_links(javascript_base, "https://example.com/a/b", follow_nofollow=False).links == [
        "https://example.com/a/z"
    ]


@pytest.mark.parametrize("content", ["nofollow", "noindex, nofollow", "NONE", "noindex,NoFollow"])
def test_meta_robots_nofollow_skips_every_link(content: str) -> None:
    html = (
        f'<meta name="Robots" content="{content}"><a href="/a">a</a><a href="/b">b</a><link rel=next href=/n>'
    )
    page = extract_links(html, "https://example.com/", follow_nofollow=False)
    assert page.links == []
    assert page.next_links == []
    assert page.nofollow_skipped == 2
    assert extract_links(html, "https://example.com/", follow_nofollow=True).links == [
        "https://example.com/a",
        "https://example.com/b",
    ]


def test_meta_robots_noindex_alone_follows() -> None:
    html = '<meta name="robots" content="noindex"><a href="/a">a</a>'
    assert extract_links(html, "https://example.com/", follow_nofollow=False).links == [
        "https://example.com/a"
    ]


def test_select_href_finds_the_next_button() -> None:
    html = """<base href="/shop/"><ul class="pager"><li class="prev"><a href="p1">prev</a></li>
    <li class="next"><a href="p3">next</a></li></ul><a class="btn-next" href="?page=3">Next</a>"""
    assert select_href(html, "https://example.com/x", "li.next") == "https://example.com/shop/p3"
    assert select_href(html, "https://example.com/x", "a.btn-next") == "https://example.com/shop/?page=3"
    assert select_href(html, "https://example.com/x", "a.missing") is None
    with pytest.raises(ValueError, match="invalid CSS selector"):
        select_href(html, "https://example.com/x", "a[[")


def test_absolute_url_drops_non_http_schemes_and_fragments() -> None:
    assert absolute_url("https://e.com/a/", "../b#c") == "https://e.com/b"
    assert absolute_url("https://e.com/", "HTTPS://E.com/x") == "https://e.com/x"
    assert absolute_url("https://e.com/", "ftp://e.com/x") is None
    assert absolute_url("https://e.com/", " java\nscript:alert(1)") is None
    assert absolute_url("https://e.com/", "//cdn.e.com/x") == "https://cdn.e.com/x"


@given(st.text(max_size=300))
def test_extract_links_never_fails_and_yields_http_urls(html: str) -> None:
    page = extract_links(html, "https://example.com/", follow_nofollow=False)
    assert all(url.startswith(("http://", "https://")) and "#" not in url for url in page.links)


def test_decode_html_prefers_the_header_charset() -> None:
    text = "<p>Привет, мир</p>"
    assert decode_html(text.encode("windows-1251"), "text/html; charset=windows-1251") == text


def test_decode_html_reads_meta_charset_and_http_equiv() -> None:
    text = "<p>日本語のページ</p>"
    meta = '<html><head><meta charset="shift_jis"></head><body>' + text + "</body></html>"
    assert text in decode_html(meta.encode("shift_jis"), "text/html")
    equiv = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head>'
        "<body><p>Привет</p></body></html>"
    )
    assert "<p>Привет</p>" in decode_html(equiv.encode("windows-1251"), None)


def test_decode_html_bom_wins_over_the_header() -> None:
    text = "<p>grüße</p>"
    assert decode_html(codecs.BOM_UTF8 + text.encode("utf-8"), "text/html; charset=iso-8859-1") == text
    assert decode_html(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), None) == text


def test_decode_html_without_declaration_detects_utf8_else_windows_1252() -> None:
    assert decode_html("<p>naïve café</p>".encode(), None) == "<p>naïve café</p>"
    assert decode_html("<p>naïve café</p>".encode("cp1252"), "text/html") == "<p>naïve café</p>"


_HREF_PARTS = st.sampled_from(
    [
        "/",
        "//",
        "http://",
        "https://",
        "HTTP://",
        "h.example",
        ":8080",
        "a",
        "b.html",
        ".",
        "..",
        "./",
        "../",
        "?",
        "#",
        "x=1",
        "&",
        ";p",
        "%20",
        " ",
        "@",
        "mailto:",
        "",
    ]
)


@given(
    st.sampled_from(
        [
            "https://example.com/dir/page.html?q=1",
            "http://user@h.example:8080/a/b/",
            "https://example.com",
            "http://h/",
        ]
    ),
    st.lists(_HREF_PARTS, max_size=8).map("".join),
)
def test_absolute_url_shortcuts_agree_with_urljoin(base: str, href: str) -> None:
    assert absolute_url(base, href) == reference_absolute_url(base, href)


def reference_absolute_url(base: str, href: str) -> str | None:
    cleaned = href.strip(" ")
    if not cleaned or cleaned.startswith("#"):
        return None
    try:
        url = urldefrag(urljoin(base, cleaned)).url
        return safe_url_string(url) if url.startswith(("http://", "https://")) else None
    except ValueError:
        return None


@pytest.mark.parametrize("href", ["http://[::1/x", "http://h:port/", "//h: /x", "http://h:99999999/"])
def test_invalid_urls_are_not_links(href: str) -> None:
    assert absolute_url("https://example.com/", href) is None


@given(st.lists(st.tuples(_HREF_PARTS, _HREF_PARTS, _HREF_PARTS).map("".join), max_size=10), _HREF_PARTS)
def test_extract_links_survives_any_href(hrefs: list[str], base_href: str) -> None:
    html = f'<base href="{base_href}">' + "".join(
        f'<a href="{href}">x</a><link rel=next href="{href}">' for href in hrefs
    )
    page = extract_links(html, "https://example.com/a/", follow_nofollow=False)
    assert all(url.startswith(("http://", "https://")) for url in page.links + page.next_links)
    select_href(html, "https://example.com/a/", "a")
