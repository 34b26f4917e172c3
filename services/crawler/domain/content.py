"""What a fetched body is, and what the crawler does with each kind."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser
from w3lib.url import safe_url_string

from services.crawler.domain.urls import canonical_url


class ContentKind(StrEnum):
    HTML = "html"
    PDF = "pdf"
    TEXT = "text"
    JSON = "json"
    XML = "xml"
    IMAGE = "image"
    OTHER = "other"


STORED_KINDS = frozenset(
    {ContentKind.HTML, ContentKind.PDF, ContentKind.TEXT, ContentKind.JSON, ContentKind.XML}
)
COMPRESSIBLE_KINDS = frozenset({ContentKind.HTML, ContentKind.TEXT, ContentKind.JSON, ContentKind.XML})

_MAGIC = (
    (b"%PDF-", ContentKind.PDF),
    (b"\x89PNG", ContentKind.IMAGE),
    (b"\xff\xd8\xff", ContentKind.IMAGE),
    (b"GIF8", ContentKind.IMAGE),
)


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def content_kind(content_type: str, body: bytes) -> ContentKind:
    """From the declared type, falling back to the bytes when it is missing or generic."""
    declared = media_type(content_type)
    if declared in ("text/html", "application/xhtml+xml"):
        return ContentKind.HTML
    if declared == "application/pdf":
        return ContentKind.PDF
    if declared.startswith("image/"):
        return ContentKind.IMAGE
    if declared == "application/json" or declared.endswith("+json"):
        return ContentKind.JSON
    if declared in ("application/xml", "text/xml") or declared.endswith("+xml"):
        return ContentKind.XML
    if declared.startswith("text/"):
        return ContentKind.TEXT
    return (
        _sniff(body)
        if declared in ("", "application/octet-stream", "binary/octet-stream")
        else ContentKind.OTHER
    )


def _sniff(body: bytes) -> ContentKind:
    head = body[:512]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:12] == b"RIFF" + head[4:8] and head[8:12] == b"WEBP":
        return ContentKind.IMAGE
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return ContentKind.HTML
    return ContentKind.OTHER


MAX_ALT_CHARS = 1000


@dataclass(frozen=True)
class PageImage:
    url: str
    alt: str


def image_links(html: str, base_url: str) -> list[PageImage]:
    """The page's images (img src/srcset's first candidate, absolute) with their alt text,
    each once."""
    tree = LexborHTMLParser(html)
    base = tree.css_first("base[href]")
    base_href = (base.attributes.get("href") or "") if base is not None else ""

    root = urljoin(base_url, base_href) if base_href else base_url
    seen: dict[str, PageImage] = {}
    for node in tree.css("img"):
        src = node.attributes.get("src") or (node.attributes.get("srcset") or "").split(" ", 1)[0]
        if not src or src.startswith("data:"):
            continue
        url = safe_url_string(urljoin(root, src.strip()))
        if url.startswith(("http://", "https://")):
            alt = " ".join((node.attributes.get("alt") or "").split())
            seen.setdefault(canonical_url(url), PageImage(url, alt[:MAX_ALT_CHARS]))
    return list(seen.values())
