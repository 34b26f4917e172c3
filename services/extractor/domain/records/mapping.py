"""Where a property without annotations finds its value: the page's structured data by name,
the page's main product, the page's metadata — in that order of trust, each with a confidence.

Names match loosely (`review_count` finds `reviewCount`) and through a few synonyms
(`currency` finds `priceCurrency`); a property not on the item itself is looked for one level
down (an offer's `price`, an aggregate rating's `ratingValue`). The item a record is read from
is the one whose schema.org type the schema names (`x-trawl-type`, else its `title`), else the
one with the most properties the schema names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.extractor.domain.products import Product
from services.extractor.domain.structured import StructuredData, StructuredItem

TYPE_HINT = "x-trawl-type"
_SYNTAX_CONFIDENCE = {"jsonld": 0.95, "microdata": 0.92, "rdfa": 0.9, "opengraph": 0.8}
_METADATA_CONFIDENCE = 0.6
_PRODUCT_TYPES = frozenset({"product", "individualproduct", "productmodel", "productgroup", "offer"})
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("headline", "title"),
    "title": ("name", "headline"),
    "headline": ("name", "title"),
    "currency": ("pricecurrency",),
    "price": ("lowprice",),
    "rating": ("ratingvalue",),
    "reviews": ("reviewcount", "ratingcount"),
    "reviewcount": ("ratingcount",),
    "image": ("images", "thumbnailurl"),
    "images": ("image",),
    "author": ("creator",),
    "date": ("datepublished", "datecreated", "uploaddate"),
    "published": ("datepublished",),
    "publishedat": ("datepublished",),
    "publishdate": ("datepublished",),
    "updated": ("datemodified",),
    "summary": ("description",),
    "category": ("breadcrumb",),
    "sitename": ("publisher",),
    "site": ("sitename", "publisher"),
    "language": ("inlanguage",),
    "link": ("url",),
}
# The page metadata's keys (see page_metadata) a loose property name can mean.
_METADATA_KEYS = {
    "title": "title",
    "name": "title",
    "headline": "title",
    "author": "author",
    "date": "date",
    "published": "date",
    "publishedat": "date",
    "datepublished": "date",
    "description": "description",
    "summary": "description",
    "sitename": "sitename",
    "site": "sitename",
    "publisher": "sitename",
    "language": "language",
    "url": "canonical_url",
    "canonicalurl": "canonical_url",
    "hostname": "hostname",
}


@dataclass(frozen=True)
class Found:
    value: Any
    confidence: float


def loose(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def main_item(structured: StructuredData | None, definition: Mapping[str, Any]) -> StructuredItem | None:
    """The structured item a record is read from (None when the page has none)."""
    if structured is None or not structured.items:
        return None
    hint = definition.get(TYPE_HINT) or definition.get("title")
    if isinstance(hint, str) and (typed := structured.of_type(hint)):
        return typed[0]
    names = {loose(name) for name in definition.get("properties", {})}

    def overlap(item: StructuredItem) -> int:
        return len(names & {loose(key) for key in item.properties})

    best = max(structured.items, key=overlap)
    return best if overlap(best) else None


def reads_products(item: StructuredItem | None, definition: Mapping[str, Any]) -> bool:
    """Whether the page's main product is a source for the record: its main item is a product,
    or it has none and the schema does not name a type that is not one."""
    if item is not None:
        return bool(_PRODUCT_TYPES & {loose(kind) for kind in item.types})
    hint = definition.get(TYPE_HINT) or definition.get("title")
    return not isinstance(hint, str) or loose(hint) in _PRODUCT_TYPES or not hint.strip()


def in_item(item: StructuredItem, name: str) -> Found | None:
    value = in_mapping(item.properties, name)
    if value is None:
        return None
    return Found(value, _SYNTAX_CONFIDENCE.get(item.syntax, 0.8))


def in_mapping(properties: Mapping[str, Any], name: str) -> Any:
    """A property of a structured item (or a nested one) by loose name, synonyms, one level down."""
    wanted = (loose(name), *_SYNONYMS.get(loose(name), ()))
    by_name = {loose(key): value for key, value in properties.items() if not key.startswith("@")}
    for key in wanted:
        if (value := by_name.get(key)) not in (None, "", []):
            return value
    for nested in _nested(properties.values()):
        inner = {loose(key): value for key, value in nested.items() if not key.startswith("@")}
        for key in wanted:
            if (value := inner.get(key)) not in (None, "", []):
                return value
    return None


def in_product(products: Sequence[Product], name: str) -> Found | None:
    if not products:
        return None
    main = products[0]
    by_name = {loose(field): field for field in main.fields}
    for key in (loose(name), *_SYNONYMS.get(loose(name), ())):
        if (field := by_name.get(key)) is not None:
            found = main.fields[field]
            return Found(found.value, found.confidence)
    return None


def in_metadata(metadata: Mapping[str, Any], name: str) -> Found | None:
    key = _METADATA_KEYS.get(loose(name))
    value = metadata.get(key) if key is not None else None
    return Found(value, _METADATA_CONFIDENCE) if value not in (None, "") else None


def _nested(values: Iterator[Any] | Any) -> Iterator[Mapping[str, Any]]:
    for value in values:
        first = value[0] if isinstance(value, list) and value else value
        if isinstance(first, dict):
            yield first
