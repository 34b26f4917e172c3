"""URL identity for the frontier: one canonical form, one hash per page."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

HTTP_URL_PREFIXES = ("http://", "https://")  # the only URLs a crawl follows


def canonical_url(url: str) -> str:
    """Sorted query, normalised percent-encoding, no fragment (w3lib, as Scrapy does)."""
    return canonicalize_url(url, keep_fragments=False)


def url_host(url: str) -> str:
    """The host politeness and leases are kept by: lower-cased, without port."""
    return (urlsplit(url).hostname or "").lower()


def url_hash(url: str) -> str:
    return hashlib.sha256(canonical_url(url).encode()).hexdigest()


def url_origin(url: str) -> str:
    """scheme://host[:port], where robots.txt and sitemap.xml live."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
