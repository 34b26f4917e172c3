"""Extraction of fixture pages whose main text, metadata and boilerplate are known."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from services.extractor.domain.documents import DocumentError, DocumentType, detect_type
from services.extractor.domain.extract import extract
from tests.fixtures.extractor.pdf import make_pdf

PAGES = Path(__file__).parents[2] / "fixtures" / "extractor" / "pages"
LIMITS = {"max_bytes": 5_000_000, "max_pdf_pages": 50}


def _text(document: object) -> str:
    return "\n".join(block.text for block in document.blocks)  # type: ignore[attr-defined]


def test_an_article_keeps_its_main_text_and_metadata_and_drops_the_boilerplate() -> None:
    data = (PAGES / "article.html").read_bytes()
    document = extract(data, "text/html; charset=utf-8", url="https://coastal.example.org/x", **LIMITS)
    assert document is not None
    text = _text(document)
    assert document.document_type is DocumentType.HTML
    assert document.title == "How lighthouses work"
    assert "Augustin-Jean Fresnel presented his stepped lens in 1822" in text
    assert "remote monitoring link reports failures" in text
    for boilerplate in ("cookies", "Subscribe now", "harbour cafes", "All rights reserved"):
        assert boilerplate not in text
    meta = document.metadata
    assert meta["author"] == "Maren Holt"
    assert meta["date"] == "2023-05-14"
    assert meta["language"] == "en"
    assert meta["canonical_url"] == "https://coastal.example.org/articles/how-lighthouses-work"
    assert meta["description"] == "The optics, power and automation of modern lighthouses."
    headings = [block.headings for block in document.blocks]
    assert ("How lighthouses work", "The Fresnel lens") in headings
    assert ("How lighthouses work", "Automation") in headings


def test_a_windows_1252_page_declared_only_in_its_meta_tag_is_decoded() -> None:
    data = (PAGES / "cp1252.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    document = extract(data, "text/html", url="https://cafe.example/", **LIMITS)
    assert document is not None
    text = _text(document)
    assert "crème brûlée with a caramelised crust" in text
    assert "Zoë" in text and "Besançon" in text and "“like the real thing”" in text
    assert "impressum" not in text


def test_a_page_without_main_content_falls_back_to_its_text() -> None:
    document = extract((PAGES / "tiny.html").read_bytes(), "text/html", url=None, **LIMITS)
    assert document is not None
    assert "Service window: Tuesday 02:00 to 03:00 UTC." in _text(document)
    assert document.title == "Status"


def test_a_pdf_is_split_by_page_with_page_numbers() -> None:
    pages = [
        "Chapter one\nThe river rises in the hills.",
        "",
        "Chapter three\nIt reaches the sea at Wexmouth.",
    ]
    document = extract(make_pdf(pages, title="River guide"), "application/pdf", **LIMITS)
    assert document is not None
    assert document.document_type is DocumentType.PDF
    assert document.title == "River guide"
    assert [block.page for block in document.blocks] == [1, 3]  # the empty page has no text
    assert "The river rises in the hills." in document.blocks[0].text
    assert "It reaches the sea at Wexmouth." in document.blocks[1].text
    assert document.metadata["pages"] == 3


def test_broken_or_oversized_documents_raise_a_clear_error() -> None:
    with pytest.raises(DocumentError, match="PDF"):
        extract(b"%PDF-1.4\n garbage with no xref at all", "application/pdf", **LIMITS)
    with pytest.raises(DocumentError, match="exceeds"):
        extract(b"x" * 2000, "text/plain", max_bytes=1000, max_pdf_pages=1)
    with pytest.raises(DocumentError, match="pages"):
        extract(make_pdf(["a", "b", "c"]), "application/pdf", max_bytes=100_000, max_pdf_pages=2)
    bomb = gzip.compress(b"a" * 200_000)
    with pytest.raises(DocumentError, match="decompressed"):
        extract(bomb, "text/plain", max_bytes=100_000, max_pdf_pages=1)


def test_gzip_stored_bytes_are_inflated() -> None:
    document = extract(gzip.compress(b"# Title\n\nBody text."), "text/markdown", **LIMITS)
    assert document is not None and document.title == "Title"


@pytest.mark.parametrize(
    ("data", "content_type", "name", "expected"),
    [
        (b"%PDF-1.7 ...", "application/octet-stream", None, DocumentType.PDF),
        (b"<!doctype html><p>x</p>", "text/plain", None, DocumentType.HTML),
        (b"# Notes", "text/plain", "notes.md", DocumentType.MARKDOWN),
        (b'{"a": 1}', "application/json; charset=utf-8", None, DocumentType.JSON),
        (b"plain words", "text/plain", None, DocumentType.TEXT),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", None, None),
        (b"\x00\x01\x02binary", "application/octet-stream", None, None),
    ],
)
def test_types_are_detected_from_bytes_declared_type_and_name(
    data: bytes, content_type: str, name: str | None, expected: DocumentType | None
) -> None:
    assert detect_type(data, content_type, name) is expected


def test_json_and_markdown_documents() -> None:
    document = extract(b'{"title": "Pump spec", "flow": "12 l/min"}', "application/json", **LIMITS)
    assert document is not None and document.title == "Pump spec" and "12 l/min" in _text(document)
    markdown = b"# Guide\n\nIntro.\n\n## Setup\n\nRun it.\n\n```\n# not a heading\n```\n"
    document = extract(markdown, "text/markdown", **LIMITS)
    assert document is not None
    assert [block.headings for block in document.blocks] == [("Guide",), ("Guide", "Setup")]
    assert "# not a heading" in document.blocks[1].text


SHORT_PRODUCT = b"""<!doctype html><html lang="en"><head><title>Brass Compass | Shop</title></head><body>
<header><nav><a href="/">Home</a> | <a href="/shop">Shop</a> | <a href="/about">About</a></nav></header>
<main><h1>Brass Compass</h1><p class="price">45.00 EUR</p>
<p>Liquid-damped compass in a brass case.</p></main>
<div id="cookie-banner">We use cookies. Accept all?</div>
<footer><p>Harbour Cooperative, The Quay.</p></footer></body></html>"""

LINK_LIST = b"""<!doctype html><html lang="en"><head><title>Articles</title></head><body>
<header><nav><a href="/">Home</a> | <a href="/shop">Shop</a></nav></header>
<main><h1>Articles, page 1</h1><ul><li><a href="/a">Mending Nets by Hand</a></li>
<li><a href="/b">Reading the Tides</a></li></ul></main><footer>Harbour Cooperative</footer></body></html>"""


@pytest.mark.parametrize("page", [SHORT_PRODUCT, LINK_LIST])
def test_short_pages_keep_their_main_text_without_menus_footers_or_banners(page: bytes) -> None:
    document = extract(page, "text/html", url=None, **LIMITS)
    assert document is not None
    text = _text(document)
    assert "Brass Compass" in text or "Mending Nets by Hand" in text
    for chrome in ("Home", "About", "cookies", "The Quay", "Harbour Cooperative"):
        assert chrome not in text, chrome
