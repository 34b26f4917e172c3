import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.crawler.domain.sitemaps import Sitemap, SitemapError, SitemapTooLarge, parse_sitemap

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>https://example.com/</loc><lastmod>2026-01-01</lastmod></url>
  <url><loc>
      https://example.com/a?x=1&amp;y=2
  </loc></url>
  <url><loc>https://example.com/b</loc>
       <image:image><image:loc>https://example.com/img.png</image:loc></image:image></url>
  <url><loc>ftp://example.com/not-http</loc></url>
  <url><loc></loc></url>
</urlset>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://example.com/sitemap-pages.xml</loc></sitemap>
  <sitemap><loc>https://example.com/sitemap-more.xml.gz</loc><lastmod>2026-01-01</lastmod></sitemap>
</sitemapindex>"""


def test_urlset() -> None:
    assert parse_sitemap(URLSET) == Sitemap(
        urls=["https://example.com/", "https://example.com/a?x=1&y=2", "https://example.com/b"], sitemaps=[]
    )


def test_sitemap_index() -> None:
    assert parse_sitemap(INDEX) == Sitemap(
        urls=[], sitemaps=["https://example.com/sitemap-pages.xml", "https://example.com/sitemap-more.xml.gz"]
    )


def test_without_namespace_and_with_bom() -> None:
    body = b"\xef\xbb\xbf<urlset><url><loc>https://example.com/x</loc></url></urlset>"
    assert parse_sitemap(body).urls == ["https://example.com/x"]


def test_gzipped_sitemap_is_detected_by_magic_bytes() -> None:
    assert parse_sitemap(gzip.compress(URLSET)) == parse_sitemap(URLSET)
    assert parse_sitemap(gzip.compress(INDEX)) == parse_sitemap(INDEX)


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 20_000
    with pytest.raises(SitemapTooLarge):
        parse_sitemap(bomb, max_bytes=1024 * 1024)


def test_a_plain_body_over_the_limit_is_refused() -> None:
    with pytest.raises(SitemapTooLarge):
        parse_sitemap(URLSET, max_bytes=100)


def test_corrupt_gzip_is_an_error() -> None:
    with pytest.raises(SitemapError):
        parse_sitemap(b"\x1f\x8bnot really gzip")


def test_plain_text_sitemap() -> None:
    body = b"https://example.com/1\r\n\n  https://example.com/2  \n# comment\nnot a url\nhttp://example.com/3"
    assert parse_sitemap(body) == Sitemap(
        urls=["https://example.com/1", "https://example.com/2", "http://example.com/3"]
    )


def test_external_entities_are_never_resolved() -> None:
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/hostname"><!ENTITY remote SYSTEM "http://127.0.0.1:1/x">]>
<urlset><url><loc>https://example.com/&xxe;</loc></url><url><loc>&remote;</loc></url></urlset>"""
    assert parse_sitemap(xxe).urls == ["https://example.com/"]


def test_billion_laughs_does_not_expand() -> None:
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    laughs = f"""<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY l0 "lol">{entities}]>
<urlset><url><loc>https://example.com/&l9;</loc></url></urlset>""".encode()
    urls = parse_sitemap(laughs).urls
    assert all(len(url) < 100 for url in urls)


def test_broken_xml_yields_what_can_be_recovered() -> None:
    broken = b"<urlset><url><loc>https://example.com/ok</loc></url><url><loc>https://example.com/cut"
    assert parse_sitemap(broken).urls[0] == "https://example.com/ok"
    assert parse_sitemap(b"<").urls == []


_PATHS = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_/", min_size=1, max_size=20), max_size=20
)


@st.composite
def _sitemaps(draw: st.DrawFn) -> tuple[bytes, Sitemap]:
    """A well-formed sitemap of random URLs (urlset, index or text; gzipped or not) and what it lists."""
    urls = [f"https://example.com/{path}?n={number}" for number, path in enumerate(draw(_PATHS))]
    kind = draw(st.sampled_from(["urlset", "index", "text"]))
    if kind == "text":
        body, expected = "\n".join(urls).encode(), Sitemap(urls=urls)
    else:
        outer, inner = ("urlset", "url") if kind == "urlset" else ("sitemapindex", "sitemap")
        entries = "".join(f"<{inner}><loc>{url.replace('&', '&amp;')}</loc></{inner}>" for url in urls)
        body = f'<?xml version="1.0"?><{outer} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</{outer}>'.encode()
        expected = Sitemap(urls=urls) if kind == "urlset" else Sitemap(sitemaps=urls)
    return (gzip.compress(body) if draw(st.booleans()) else body), expected


@given(_sitemaps())
def test_generated_sitemaps_list_exactly_their_urls(case: tuple[bytes, Sitemap]) -> None:
    body, expected = case
    assert parse_sitemap(body) == expected


@given(st.one_of(st.binary(max_size=500), _sitemaps().map(lambda case: case[0][: len(case[0]) // 2])))
def test_any_bytes_give_a_sitemap_or_a_sitemap_error(body: bytes) -> None:
    try:
        result = parse_sitemap(body)
    except SitemapError:
        return
    assert all(url.startswith(("http://", "https://")) for url in result.urls + result.sitemaps)
