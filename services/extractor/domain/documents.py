"""What a stored page or upload is, and its bytes as text: type detection, decompression, decoding.

Pure functions: the handler reads the bytes from S3 and hands them here (in a worker thread).
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from charset_normalizer import from_bytes


class DocumentType(StrEnum):
    HTML = "html"
    PDF = "pdf"
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


class DocumentError(Exception):
    """This document cannot be extracted (too large, broken); the message says why."""


@dataclass(frozen=True)
class Block:
    """A run of text under one heading path (one PDF page, one Markdown section...)."""

    text: str
    headings: tuple[str, ...] = ()
    page: int | None = None


@dataclass(frozen=True)
class ExtractedDocument:
    document_type: DocumentType
    title: str
    blocks: list[Block]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def has_text(self) -> bool:
        return any(block.text.strip() for block in self.blocks)


_GZIP_MAGIC = b"\x1f\x8b"
_PDF_MAGIC = b"%PDF-"
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title)\b", re.I | re.S)
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown")
_TEXT_TYPES = {"text/plain", "text/csv", "text/x-log"}
_MARKDOWN_TYPES = {"text/markdown", "text/x-markdown"}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_JSON_TYPES = {"application/json", "application/ld+json", "text/json"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)


def decompress(data: bytes, max_bytes: int) -> bytes:
    """The bytes as stored, or their gzip content when stored compressed; at most `max_bytes`."""
    if not data.startswith(_GZIP_MAGIC):
        return data
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise DocumentError(f"gzip content is corrupt: {exc}") from exc
    if len(out) > max_bytes:
        raise DocumentError(f"decompressed content exceeds {max_bytes:,} bytes")
    return out


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def charset_of(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", content_type, re.I)
    return match.group(1) if match else None


def detect_type(data: bytes, content_type: str, name: str | None = None) -> DocumentType | None:
    """The document type from the bytes first (servers mislabel), then the declared type and
    the name's suffix; None when it is not text we extract (images, archives, binaries)."""
    head = data[:2048]
    declared = media_type(content_type)
    suffix = (name or "").lower().split("?", 1)[0]
    if head.startswith(_PDF_MAGIC) or declared == "application/pdf":
        return DocumentType.PDF
    if declared in _HTML_TYPES or _HTML_START.match(head):
        return DocumentType.HTML
    if declared in _MARKDOWN_TYPES or suffix.endswith(_MARKDOWN_SUFFIXES):
        return DocumentType.MARKDOWN
    if declared in _JSON_TYPES or declared.endswith("+json") or suffix.endswith(".json"):
        return DocumentType.JSON
    if declared in _TEXT_TYPES or declared.startswith("text/") or suffix.endswith(".txt"):
        return DocumentType.TEXT
    if declared in ("", "application/octet-stream") and _looks_like_text(head):
        return DocumentType.TEXT
    return None


def _looks_like_text(head: bytes) -> bool:
    return bool(head) and b"\x00" not in head and from_bytes(head).best() is not None


def decode(data: bytes, content_type: str, *, html: bool = False) -> str:
    """Text from bytes: the declared charset, else a BOM or an HTML meta charset, else UTF-8,
    else what charset detection finds. Undecodable bytes become U+FFFD rather than an error."""
    for candidate in (charset_of(content_type), _bom_charset(data), _meta_charset(data) if html else None):
        if candidate and _known_codec(candidate):
            return data.decode(candidate, errors="replace").lstrip("\ufeff")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is not None and best.encoding:
        return str(best)
    return data.decode("utf-8", errors="replace")


def _bom_charset(data: bytes) -> str | None:
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return name
    return None


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True
