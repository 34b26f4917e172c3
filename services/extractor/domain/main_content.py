"""The main content of an HTML page: trafilatura candidates and the rule that picks one.

1. Page chrome is removed (`chrome`), and the metadata read (`page_metadata`) first.
2. The primary candidate is trafilatura with its normal settings (its readability and jusText
   comparisons and its own rescue of short results included; comments left out).
3. Only when that result is missing or implausibly small for the page (under a quarter of the
   text left on the page after chrome removal) are the fallbacks tried: trafilatura favouring
   recall, and trafilatura's baseline (JSON-LD `articleBody`, then `<article>`s, then every
   paragraph).
4. The pick: each candidate's *content characters* are counted, the characters of its lines
   that read as text rather than as labels (at least four words, or twelve characters in
   scripts written without spaces), so a menu or a list of buttons that a fallback drags in
   earns nothing. A fallback replaces the primary only with at least 1.5 times its content
   characters: a candidate only a little longer is as likely to have added boilerplate as
   content, and the primary is the more precise of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement
from trafilatura import baseline
from trafilatura.core import bare_extraction
from trafilatura.settings import Document, Extractor, use_config
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from services.extractor.domain.chrome import remove_chrome
from services.extractor.domain.page_metadata import page_metadata

_CONFIG = use_config()
_IMPLAUSIBLE_SHARE = 0.25
_FALLBACK_GAIN = 1.5
_CONTENT_LINE_WORDS = 4
_CONTENT_LINE_UNSPACED_CHARS = 12
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")


@dataclass(frozen=True)
class MainContent:
    title: str
    markdown: str  # what gets chunked: headings, lists and tables kept
    text: str  # the same content as plain text, without the title line
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Candidate:
    method: str
    markdown: str
    text: str

    @property
    def content_characters(self) -> int:
        return sum(len(line) for line in self.text.splitlines() if _reads_as_text(line))


def main_content(html: str, url: str | None) -> MainContent:
    """The page's title, main content (Markdown and plain text) and metadata; see the module
    docstring for how the content is chosen."""
    tree = load_html(html)
    if tree is None:
        return MainContent("", "", "")
    title, metadata = page_metadata(tree, url)
    page_text = remove_chrome(tree)
    chosen = _trafilatura(tree, url, recall=False)
    if chosen is None or len(chosen.text) < _IMPLAUSIBLE_SHARE * page_text:
        for fallback in (_trafilatura(tree, url, recall=True), _baseline(tree)):
            if fallback is not None and _better(fallback, chosen):
                chosen = fallback
    if chosen is None:
        return MainContent(title, "", "", metadata)
    metadata["extraction"] = chosen.method
    return MainContent(title, chosen.markdown, _without_title(chosen.text, title), metadata)


def _better(fallback: _Candidate, current: _Candidate | None) -> bool:
    if current is None:
        return bool(fallback.text.strip())
    return fallback.content_characters >= _FALLBACK_GAIN * max(current.content_characters, 1)


def _reads_as_text(line: str) -> bool:
    if len(line.split()) >= _CONTENT_LINE_WORDS:
        return True
    return len(_UNSPACED.findall(line)) >= _CONTENT_LINE_UNSPACED_CHARS


def _trafilatura(tree: HtmlElement, url: str | None, *, recall: bool) -> _Candidate | None:
    options = Extractor(
        config=_CONFIG,
        output_format="python",
        recall=recall,
        comments=False,
        tables=True,
        formatting=True,
        url=url,
    )
    document = bare_extraction(tree, options=options)
    if not isinstance(document, Document) or document.body is None:
        return None
    text = xmltotxt(document.body, False)
    if not text.strip():
        return None
    return _Candidate("recall" if recall else "trafilatura", document.text or text, text)


def _baseline(tree: HtmlElement) -> _Candidate | None:
    _, text, _ = baseline(tree)
    return _Candidate("baseline", text, text) if text.strip() else None


def _without_title(text: str, title: str) -> str:
    """`text` without a first line that only repeats the title (it has its own field)."""
    first, _, rest = text.partition("\n")
    if title and _MARKDOWN_HEADING.sub("", first).strip().casefold() == title.strip().casefold():
        return rest.lstrip("\n")
    return text
