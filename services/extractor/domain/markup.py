"""HTML, Markdown, plain text and JSON documents into blocks (the HTML main content: `main_content`)."""

from __future__ import annotations

import json
import re

from services.extractor.domain.documents import Block, DocumentError, DocumentType, ExtractedDocument
from services.extractor.domain.main_content import main_content

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_HTML_LANG = re.compile(r"""<html[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)""", re.I)


def extract_html(html: str, url: str | None) -> ExtractedDocument:
    """The page's main content (see `main_content`) as Markdown blocks, with its plain text and
    metadata; the language falls back to `<html lang>`."""
    content = main_content(html, url)
    metadata = dict(content.metadata)
    if "language" not in metadata and (lang := _HTML_LANG.search(html[:4096])):
        metadata["language"] = lang.group(1).lower().replace("_", "-")
    return ExtractedDocument(
        DocumentType.HTML, content.title, markdown_blocks(content.markdown), metadata, plain_text=content.text
    )


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
