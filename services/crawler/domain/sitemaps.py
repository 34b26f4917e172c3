"""Sitemaps (sitemaps.org): XML urlsets, sitemap indexes and plain-text lists, gzipped or not.

The XML parser never resolves entities, loads DTDs or touches the network (no XXE), and a
gzipped body is inflated only up to `max_bytes`, so a gzip bomb costs nothing but an error.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from lxml import etree

from services.crawler.domain.urls import HTTP_URL_PREFIXES

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit, uncompressed
GZIP_MAGIC = b"\x1f\x8b"


class SitemapError(ValueError):
    """A body that cannot be read as a sitemap (corrupt gzip data)."""


class SitemapTooLarge(SitemapError):
    """The sitemap, once decompressed, is larger than allowed."""


@dataclass(frozen=True)
class Sitemap:
    urls: list[str] = field(default_factory=list)  # pages (a urlset or a text sitemap)
    sitemaps: list[str] = field(default_factory=list)  # further sitemaps (a sitemap index)


def parse_sitemap(body: bytes, *, max_bytes: int = MAX_SITEMAP_BYTES) -> Sitemap:
    if body.startswith(GZIP_MAGIC):
        body = _gunzip(body, max_bytes)
    elif len(body) > max_bytes:
        raise SitemapTooLarge(f"sitemap of {len(body)} bytes exceeds {max_bytes}")
    if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return _parse_xml(body)
    return Sitemap(urls=_text_urls(body))


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise SitemapError(f"corrupt gzip data: {exc}") from exc
    if len(data) > max_bytes:
        raise SitemapTooLarge(f"gzipped sitemap inflates beyond {max_bytes} bytes")
    return data


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )


def _parse_xml(body: bytes) -> Sitemap:
    root = etree.fromstring(body, parser=_xml_parser())
    if root is None:  # nothing recoverable
        return Sitemap()
    sitemap = Sitemap()
    for loc in root.iter("{*}loc"):
        url = (loc.text or "").strip()
        parent = loc.getparent()
        if not url.startswith(HTTP_URL_PREFIXES) or parent is None:
            continue
        parent_name = etree.QName(parent).localname
        if parent_name == "url":
            sitemap.urls.append(url)
        elif parent_name == "sitemap":
            sitemap.sitemaps.append(url)
    return sitemap


def _text_urls(body: bytes) -> list[str]:
    lines = body.decode("utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip().startswith(HTTP_URL_PREFIXES)]
