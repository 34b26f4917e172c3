"""Main content of HTML pages (trafilatura), and Markdown / plain text / JSON into blocks."""

from __future__ import annotations

import json
import re
from typing import Any

import trafilatura
from selectolax.lexbor import LexborHTMLParser
from trafilatura.settings import Document, use_config

from services.extractor.domain.documents import Block, DocumentError, DocumentType, ExtractedDocument

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_HTML_LANG = re.compile(r"""<html[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)""", re.I)
_METADATA_FIELDS = ("author", "date", "description", "sitename", "hostname", "language")
# trafilatura's defaults treat main content under 250 characters as a failed extraction and
# fall back to whole-page text, navigation included; a product page's main content is often
# that short, so accept shorter main content before any fallback.
_CONFIG = use_config()
_CONFIG.set("DEFAULT", "MIN_EXTRACTED_SIZE", "40")
_CONFIG.set("DEFAULT", "MIN_OUTPUT_SIZE", "10")


def extract_html(html: str, url: str | None) -> ExtractedDocument:
    """Main content as Markdown with its metadata; boilerplate (navigation, footers, cookie
    banners, comments) is left out. Pages where trafilatura finds no main content fall back
    to its baseline extractor (all paragraph-like text) so that short pages still index."""
    document: Document | None = trafilatura.extract_with_metadata(
        _without(html, _PAGE_CHROME),
        url=url,
        output_format="markdown",
        include_comments=False,
        include_tables=True,
        include_formatting=True,
        include_links=False,
        fast=True,  # its own fallbacks keep menus; ours below drops them first
        config=_CONFIG,
    )
    metadata: dict[str, Any] = {}
    title = ""
    markdown = ""
    if document is not None:
        title = document.title or ""
        markdown = _strip_front_matter(document.text or "")
        metadata = {name: value for name in _METADATA_FIELDS if (value := getattr(document, name, None))}
        if document.url:
            metadata["canonical_url"] = document.url
    if not markdown.strip():
        _, text, _ = trafilatura.baseline(_without(html, _BOILERPLATE))
        markdown = text
        metadata["extraction"] = "baseline"
        title = title or _title_tag(html)
    if "language" not in metadata and (lang := _HTML_LANG.search(html[:4096])):
        metadata["language"] = lang.group(1).lower().replace("_", "-")
    return ExtractedDocument(DocumentType.HTML, title, markdown_blocks(markdown), metadata)


# Page chrome no main content lives in: menus, the page's own header and footer, cookie banners
# (an article's <header>, with its title and date, stays).
_PAGE_CHROME = (
    "nav, body > header, body > footer, [role=navigation], [id*=cookie], [class*=cookie],"
    " [id*=consent], [class*=consent]"
)
# For the fallback, which keeps every paragraph-like text: anything that is not content.
_BOILERPLATE = (
    f"{_PAGE_CHROME}, header, footer, aside, form, script, style, noscript, [role=banner],"
    " [role=contentinfo], [aria-hidden=true]"
)


def _without(html: str, selector: str) -> str:
    tree = LexborHTMLParser(html)
    for node in tree.css(selector):
        node.decompose()
    return tree.html or html


def _strip_front_matter(text: str) -> str:
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[end + 5 :]
    return text


def _title_tag(html: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", html, re.I | re.S)
    return " ".join(match.group(1).split()) if match else ""


def markdown_blocks(markdown: str) -> list[Block]:
    """Sections of a Markdown text, each carrying the path of headings above it; the heading
    lines themselves start their section's text."""
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []

    def flush() -> None:
        # Heading lines with no text of their own carry over into the next section.
        if all(not line.strip() or _HEADING.match(line) for line in lines):
            return
        text = "\n".join(lines).strip()
        blocks.append(Block(text=text, headings=tuple(title for _, title in path)))
        lines.clear()

    in_fence = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, heading.group(2)))
        lines.append(line)
    flush()
    if lines:  # only headings, no text at all
        blocks.append(Block(text="\n".join(lines).strip(), headings=tuple(title for _, title in path)))
    return blocks


def extract_markdown(text: str) -> ExtractedDocument:
    blocks = markdown_blocks(text)
    title = next((block.headings[0] for block in blocks if block.headings), "")
    return ExtractedDocument(DocumentType.MARKDOWN, title, blocks)


def extract_text(text: str) -> ExtractedDocument:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return ExtractedDocument(DocumentType.TEXT, first_line[:200], [Block(text=text.strip())])


def extract_json(text: str) -> ExtractedDocument:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON: {exc}") from exc
    title = ""
    if isinstance(value, dict):
        title = next((str(value[key]) for key in ("title", "name", "headline") if value.get(key)), "")
    pretty = json.dumps(value, indent=2, ensure_ascii=False)
    return ExtractedDocument(DocumentType.JSON, title[:300], [Block(text=pretty)])
