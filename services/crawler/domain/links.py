"""What a fetched HTML page links to, and how its bytes decode to text.

Parsing uses selectolax's Lexbor engine (an HTML5 parser, fast enough to sit on the
crawler's hot path); encodings follow w3lib, as Scrapy does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError
from w3lib.encoding import html_to_unicode
from w3lib.url import safe_url_string

from services.crawler.domain.urls import HTTP_URL_PREFIXES

# Characters the URL standard strips around, and removes inside, an attribute's URL.
_URL_WHITESPACE = " \t\n\r\f"
_REMOVED_INSIDE = str.maketrans("", "", "\t\n\r")


@dataclass(frozen=True)
class PageLinks:
    links: list[str]  # followable a[href] targets, absolute, unique, in document order
    next_links: list[str]  # link[rel=next] and a[rel=next]: the page's own "next page"
    canonical: str | None
    nofollow_skipped: int  # a[href] elements not followed because of rel/meta nofollow


def absolute_url(base_url: str, href: str) -> str | None:
    """`href` resolved against `base_url`, without fragment and safely encoded; None when it
    is not an http(s) URL (mailto:, javascript:, data:, tel:, ...) or not a valid URL."""
    cleaned = href.strip(_URL_WHITESPACE).translate(_REMOVED_INSIDE)
    if not cleaned or cleaned.startswith("#"):
        return None
    try:
        url = urldefrag(_join(base_url, cleaned)).url
        if not url.startswith(HTTP_URL_PREFIXES):  # urljoin lower-cases the scheme
            return None
        return safe_url_string(url)
    except ValueError:  # "http://[::1", "http://host:port/": not a URL at all
        return None


def _join(base_url: str, href: str) -> str:
    """urljoin(base_url, href), with a shortcut for the two commonest kinds of href, which
    urljoin would return unchanged ("https://host/...") or append to the base's origin
    ("/path?query"): a crawl resolves dozens of links per page and urljoin is most of that."""
    if "/." in href or href.endswith("?") or "?#" in href:  # dot segments, an empty query
        return urljoin(base_url, href)
    if href.startswith(HTTP_URL_PREFIXES):
        host_start = href.index("//") + 2
        if href[host_start : host_start + 1] not in ("", "/", "?", "#"):
            return href
    elif href.startswith("/") and not href.startswith("//"):
        origin = _origin(base_url)
        if origin is not None:
            return origin + href
    return urljoin(base_url, href)


@lru_cache(maxsize=64)  # one base URL serves every link of a page
def _origin(base_url: str) -> str | None:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def extract_links(html: str, base_url: str, *, follow_nofollow: bool) -> PageLinks:
    tree = LexborHTMLParser(html)
    base = _document_base(tree, base_url)
    page_nofollow = not follow_nofollow and _meta_robots_nofollow(tree)

    links: dict[str, None] = {}
    next_links: dict[str, None] = {}
    nofollow_skipped = 0
    for anchor in tree.css("a[href]"):
        url = absolute_url(base, anchor.attributes.get("href") or "")
        if url is None:
            continue
        rel = _rel_tokens(anchor)
        if not follow_nofollow and (page_nofollow or "nofollow" in rel):
            nofollow_skipped += 1
            continue
        links[url] = None
        if "next" in rel:
            next_links[url] = None

    canonical = None
    for link in tree.css("link[href][rel]"):
        rel = _rel_tokens(link)
        url = absolute_url(base, link.attributes.get("href") or "")
        if url is None:
            continue
        if "next" in rel and not page_nofollow:
            next_links[url] = None
        if "canonical" in rel and canonical is None:
            canonical = url
    return PageLinks(list(links), list(next_links), canonical, nofollow_skipped)


def select_href(html: str, base_url: str, css_selector: str) -> str | None:
    """The absolute URL of the first element matching `css_selector` that is, or contains, a
    link (pagination's "next" button); None when there is none.

    Raises ValueError when the selector is not valid CSS."""
    tree = LexborHTMLParser(html)
    base = _document_base(tree, base_url)
    try:
        matches = tree.css(css_selector)
    except SelectolaxError as exc:
        raise ValueError(f"invalid CSS selector {css_selector!r}") from exc
    for node in matches:
        target = node if node.attributes.get("href") else node.css_first("a[href]")
        if target is None:
            continue
        url = absolute_url(base, target.attributes.get("href") or "")
        if url is not None:
            return url
    return None


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page's text: the encoding comes from a BOM, else the Content-Type charset, else
    <meta charset> / http-equiv, else strict UTF-8 when the bytes are valid UTF-8, else
    windows-1252 (the web's default for undeclared legacy pages)."""
    _encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_utf8_or_legacy)
    return text


def _utf8_or_legacy(body: bytes) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _document_base(tree: LexborHTMLParser, page_url: str) -> str:
    base = tree.css_first("base[href]")
    if base is None:
        return page_url
    return absolute_url(page_url, base.attributes.get("href") or "") or page_url


def _meta_robots_nofollow(tree: LexborHTMLParser) -> bool:
    for meta in tree.css("meta[name][content]"):
        if (meta.attributes.get("name") or "").strip().lower() != "robots":
            continue
        directives = {part.strip() for part in (meta.attributes.get("content") or "").lower().split(",")}
        if "nofollow" in directives or "none" in directives:
            return True
    return False


def _rel_tokens(node: LexborNode) -> set[str]:
    return set((node.attributes.get("rel") or "").lower().split())
