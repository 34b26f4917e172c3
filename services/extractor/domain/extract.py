"""From stored bytes to an extracted document: the one entry point the handlers call."""

from __future__ import annotations

from dataclasses import replace

from services.extractor.domain.charsets import decode
from services.extractor.domain.documents import (
    DocumentError,
    DocumentType,
    ExtractedDocument,
    decompress,
    detect_type,
)
from services.extractor.domain.markup import extract_html, extract_json, extract_markdown, extract_text
from services.extractor.domain.pdf import extract_pdf


def extract(
    data: bytes,
    content_type: str,
    *,
    url: str | None = None,
    name: str | None = None,
    max_bytes: int,
    max_pdf_pages: int,
) -> ExtractedDocument | None:
    """The document's title, text blocks and metadata; None when it is not a text type.
    Raises DocumentError for a document too large or too broken to extract."""
    if len(data) > max_bytes:
        raise DocumentError(f"document of {len(data):,} bytes exceeds the limit of {max_bytes:,}")
    data = decompress(data, max_bytes)
    kind = detect_type(data, content_type, name or url)
    match kind:
        case None:
            return None
        case DocumentType.PDF:
            return extract_pdf(data, max_pages=max_pdf_pages)
        case DocumentType.HTML:
            html = decode(data, content_type, html=True)
            return replace(extract_html(html, url), html=html)
        case DocumentType.MARKDOWN:
            return extract_markdown(decode(data, content_type))
        case DocumentType.JSON:
            return extract_json(decode(data, content_type))
        case DocumentType.TEXT:
            return extract_text(decode(data, content_type))
