"""What a stored page or upload is: type detection and decompression (decoding: `charsets`).

Pure functions: the handler reads the bytes from S3 and hands them here (in a worker thread).
"""

from __future__ import annotations

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
    blocks: list[Block]  # what is chunked: Markdown sections of HTML, pages of a PDF, ...
    metadata: dict[str, Any] = field(default_factory=dict)
    plain_text: str | None = None  # for HTML, the main text without Markdown syntax
    html: str | None = field(default=None, repr=False)  # for HTML, the decoded page: items come from it

    @property
    def has_text(self) -> bool:
        return any(block.text.strip() for block in self.blocks)

    @property
    def markdown(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)

    @property
    def text(self) -> str:
        return self.markdown if self.plain_text is None else self.plain_text


_GZIP_MAGIC = b"\x1f\x8b"
_PDF_MAGIC = b"%PDF-"
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title)\b", re.I | re.S)
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown")
_TEXT_TYPES = {"text/plain", "text/csv", "text/x-log"}
_MARKDOWN_TYPES = {"text/markdown", "text/x-markdown"}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_JSON_TYPES = {"application/json", "application/ld+json", "text/json"}


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
