"""A document's tags (seed 002 metadata_tags): what search can filter on, as `name:value`.

language, schema_type (every schema.org type the page declares), site_name, author, brand (of
its products and the job's brand) and keyword (YAKE's top key phrases of the main text, in the
page's language). Values are kept as found, keywords lowercased; one tag per name and value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yake

from services.extractor.domain.structured import StructuredData

# YAKE reads the start of the text: a page's key phrases are in its first paragraphs, and the
# cost grows with the length (YAKE takes about 0.1 ms a word).
_KEYWORD_TEXT_LIMIT = 2_000
_MIN_KEYWORD_TEXT = 200
_MAX_VALUE = 200
_MAX_SCHEMA_TYPES = 20


@dataclass(frozen=True)
class Tag:
    name: str
    value: str
    source: str  # "metadata" | "structured" | "product" | "job" | "yake"


def tags_for(
    text: str,
    *,
    language: str | None,
    metadata: dict[str, Any],
    structured: StructuredData | None,
    brands: Iterable[str] = (),
    max_keywords: int = 10,
) -> list[Tag]:
    """The document's tags, each (name, value) once."""
    found = [
        *_metadata_tags(language, metadata),
        *(Tag("schema_type", kind, "structured") for kind in _schema_types(structured)),
        *(Tag("brand", brand, "product") for brand in brands),
        *(Tag("keyword", phrase, "yake") for phrase in keywords(text, language, max_keywords)),
    ]
    unique: dict[tuple[str, str], Tag] = {}
    for tag in found:
        value = " ".join(tag.value.split())[:_MAX_VALUE]
        if value:
            unique.setdefault((tag.name, value), Tag(tag.name, value, tag.source))
    return list(unique.values())


def keywords(text: str, language: str | None, limit: int) -> list[str]:
    """YAKE's best key phrases (up to three words) of the text, lowercased, best first."""
    if limit <= 0 or len(text) < _MIN_KEYWORD_TEXT:
        return []
    # YAKE takes the stop words of the ISO 639-1 code, or none for a language it has no list of.
    code = (language or "en").split("-")[0].lower()
    extractor = yake.KeywordExtractor(lan=code, n=3, dedup_lim=0.7, top=limit * 2)
    phrases: list[str] = []
    for phrase, _score in extractor.extract_keywords(text[:_KEYWORD_TEXT_LIMIT]):
        lowered = str(phrase).lower()
        if lowered not in phrases and not lowered.isdigit():
            phrases.append(lowered)
    return phrases[:limit]


def _metadata_tags(language: str | None, metadata: dict[str, Any]) -> Iterator[Tag]:
    if language:
        yield Tag("language", language.split("-")[0].lower(), "metadata")
    for name, key in (("site_name", "sitename"), ("author", "author")):
        value = metadata.get(key)
        if isinstance(value, str):
            # Several authors come as one "A; B" string from the page's metadata.
            for part in value.split(";") if name == "author" else [value]:
                yield Tag(name, part.strip(), "metadata")


def _schema_types(structured: StructuredData | None) -> list[str]:
    if structured is None:
        return []
    return sorted(structured.types)[:_MAX_SCHEMA_TYPES]
