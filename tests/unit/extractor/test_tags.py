"""A document's tags: what the page says about itself, what it declares, what it is about."""

from __future__ import annotations

import json

from services.extractor.domain.structured import parse_structured
from services.extractor.domain.tags import Tag, keywords, tags_for

ARTICLE_DE = (
    "Die Deutsche Bahn hat neue Fahrpläne für den Regionalverkehr in Bayern vorgestellt. "
    "Die Fahrpläne gelten ab Dezember und betreffen vor allem die Strecken zwischen München und "
    "Nürnberg. Pendler im Regionalverkehr sollen durch dichtere Takte profitieren, sagt die Bahn. "
) * 2


def test_tags_name_language_types_site_authors_brands_and_keywords() -> None:
    html = (
        '<script type="application/ld+json">'
        + json.dumps({"@type": "NewsArticle", "publisher": {"@type": "Organization", "name": "Kurier"}})
        + "</script>"
    )
    tags = tags_for(
        ARTICLE_DE,
        language="de-DE",
        metadata={"sitename": "Kurier", "author": "Anna Schmidt; Jonas Weber"},
        structured=parse_structured(html, "https://kurier.example/a"),
        brands=["Deutsche Bahn", "Deutsche Bahn"],
    )
    by_name: dict[str, list[str]] = {}
    for tag in tags:
        by_name.setdefault(tag.name, []).append(tag.value)
    assert by_name["language"] == ["de"]
    assert by_name["schema_type"] == ["NewsArticle", "Organization"]
    assert by_name["site_name"] == ["Kurier"]
    assert by_name["author"] == ["Anna Schmidt", "Jonas Weber"]
    assert by_name["brand"] == ["Deutsche Bahn"]  # once, however often it is found
    assert "regionalverkehr" in " ".join(by_name["keyword"])
    assert all(value == value.lower() for value in by_name["keyword"])
    assert len(by_name["keyword"]) <= 10
    assert Tag("language", "de", "metadata") in tags


def test_keywords_are_the_texts_key_phrases_and_a_short_text_has_none() -> None:
    text = (
        "Qdrant stores the vectors of every chunk. Hybrid search fuses vector search with keyword "
        "search, and reciprocal rank fusion orders the hits. Chunks carry their document's tenant. "
    ) * 3
    found = keywords(text, "en", 5)
    assert 0 < len(found) <= 5
    assert any("search" in phrase for phrase in found)
    assert keywords("too short", "en", 5) == []
    assert keywords(text, "xx", 3)  # a language without a stop-word list still gives phrases


def test_a_page_with_nothing_declared_has_only_what_its_text_gives() -> None:
    tags = tags_for("", language=None, metadata={}, structured=None)
    assert tags == []
