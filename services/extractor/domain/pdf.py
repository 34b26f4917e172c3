"""Text of PDF files, page by page (pypdf), so chunks can name the pages they come from."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from services.extractor.domain.documents import Block, DocumentError, DocumentType, ExtractedDocument

# pypdf logs every recoverable oddity of a damaged file; the outcome is what matters here.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def extract_pdf(data: bytes, *, max_pages: int) -> ExtractedDocument:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("the PDF is encrypted")
        page_count = len(reader.pages)
        if page_count > max_pages:
            raise DocumentError(f"the PDF has {page_count:,} pages, over the limit of {max_pages:,}")
        blocks = [
            Block(text=text.strip(), page=number)
            for number, page in enumerate(reader.pages, start=1)
            if (text := page.extract_text() or "").strip()
        ]
        info = reader.metadata
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        # pypdf surfaces broken structure as many exception types; each means "unreadable".
        raise DocumentError(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    title = str(info.title or "").strip() if info else ""
    metadata: dict[str, object] = {"pages": page_count}
    if info and info.author:
        metadata["author"] = str(info.author)
    if not title and blocks:
        title = blocks[0].text.splitlines()[0][:200]
    return ExtractedDocument(DocumentType.PDF, title, blocks, metadata)
