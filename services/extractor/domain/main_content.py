"""The main content of an HTML page: trafilatura candidates and the rule that picks one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement
from trafilatura.core import bare_extraction
from trafilatura.metadata import extract_metadata
from trafilatura.settings import Document, Extractor, use_config
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from services.extractor.domain.chrome import without_chrome

_METADATA_FIELDS = ("author", "date", "description", "sitename", "hostname", "language")
_DEFAULT = use_config()


@dataclass(frozen=True)
class MainContent:
    title: str
    markdown: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def main_content(html: str, url: str | None) -> MainContent:
    tree = load_html(html)
    if tree is None:
        return MainContent("", "", "")
    metadata, title = _metadata(tree, url)
    cleaned = without_chrome(tree)
    body = _trafilatura(cleaned, url)
    if body is None:
        return MainContent(title, "", "", metadata)
    return MainContent(title, xmltotxt(body, True), xmltotxt(body, False), metadata)


def _trafilatura(tree: HtmlElement, url: str | None) -> Any:
    options = Extractor(
        config=_DEFAULT,
        output_format="python",
        comments=False,
        tables=True,
        formatting=True,
        url=url,
    )
    document = bare_extraction(tree, options=options)
    if not isinstance(document, Document):
        return None
    return document.body


def _metadata(tree: HtmlElement, url: str | None) -> tuple[dict[str, Any], str]:
    document = extract_metadata(tree, url, extensive=False)
    metadata = {name: value for name in _METADATA_FIELDS if (value := getattr(document, name, None))}
    if document.url:
        metadata["canonical_url"] = document.url
    return metadata, document.title or ""
