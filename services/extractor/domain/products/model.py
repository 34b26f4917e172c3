"""A product as found on a page: normalised fields, each with its source and confidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FIELDS = (
    "name",
    "brand",
    "sku",
    "gtin",
    "mpn",
    "price",
    "currency",
    "availability",
    "regular_price",
    "description",
    "images",
    "rating",
    "review_count",
    "category",
    "url",
)
# What the overall confidence weighs: a product is mostly its name, price and identifiers.
_WEIGHTS = {"name": 3.0, "price": 3.0, "currency": 1.0, "availability": 1.0, "sku": 1.0, "gtin": 1.0}


@dataclass(frozen=True)
class FieldValue:
    value: Any
    source: str  # "jsonld" | "microdata" | "rdfa" | "opengraph" | "heuristic"
    confidence: float


@dataclass(frozen=True)
class Product:
    fields: Mapping[str, FieldValue]
    confidence: float
    main: bool = True

    def value(self, name: str) -> Any:
        found = self.fields.get(name)
        return None if found is None else found.value

    def data(self) -> dict[str, Any]:
        return {name: self.fields[name].value for name in FIELDS if name in self.fields}

    def to_json(self) -> dict[str, Any]:
        return self.data() | {
            "confidence": self.confidence,
            "main": self.main,
            "sources": {name: found.source for name, found in self.fields.items()},
            "field_confidence": {name: found.confidence for name, found in self.fields.items()},
        }


@dataclass
class ProductDraft:
    """Fields gathered from one or more sources; the first source to give a field keeps it."""

    fields: dict[str, FieldValue] = field(default_factory=dict)

    def offer(self, name: str, value: Any, source: str, confidence: float) -> None:
        if value in (None, "", []) or name in self.fields:
            return
        self.fields[name] = FieldValue(value, source, confidence)

    def fill_from(self, other: ProductDraft) -> None:
        for name, found in other.fields.items():
            self.fields.setdefault(name, found)

    def finish(self, *, main: bool) -> Product | None:
        """The product, or None without a name (nothing a user could recognise it by)."""
        if "name" not in self.fields:
            return None
        if "price" not in self.fields:
            self.fields.pop("currency", None)  # a currency alone says nothing
        total = sum(_WEIGHTS.values())
        score = sum(
            weight * self.fields[name].confidence for name, weight in _WEIGHTS.items() if name in self.fields
        )
        return Product(dict(self.fields), round(score / total, 3), main)
