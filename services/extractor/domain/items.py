"""What a page yields besides its text: products, a schema-defined record, tags (seeds 000-002).

Deterministic and pure: the same bytes and the same job give the same items. Products are
looked for on every HTML page; a record only when the job has an extractor schema and the page
is among those its `schema_url_patterns` name (every page, without them). The page's
structured data is parsed once and shared by all three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.extractor.domain.documents import ExtractedDocument
from services.extractor.domain.products import Product, extract_products
from services.extractor.domain.records import RecordResult, extract_record
from services.extractor.domain.structured import StructuredData, parse_structured
from services.extractor.domain.tags import Tag, tags_for

if TYPE_CHECKING:  # `trawl extract` runs without pydantic's import cost
    from shared.events import JobConfig

# The schema id of a record made outside any job (`trawl extract --schema`).
LOCAL_SCHEMA = UUID(int=0)


@dataclass(frozen=True)
class RecordPlan:
    """The job's extractor schema, as a record is made with it."""

    schema_id: UUID
    version: str
    definition: dict[str, Any]
    strict_validation: bool
    allow_extra_fields: bool


@dataclass(frozen=True)
class ItemsPlan:
    """What a job asks of its pages' items."""

    record: RecordPlan | None = None
    url_patterns: tuple[re.Pattern[str], ...] = ()
    brand_name: str | None = None
    llm_extraction: str = "off"  # options.llm_extraction: "off", "missing" or "always"

    @classmethod
    def of(cls, config: JobConfig | None) -> ItemsPlan:
        if config is None:
            return cls()
        schema = config.extractor_schema
        record = (
            RecordPlan(
                schema.schema_id,
                schema.version,
                schema.definition,
                schema.strict_validation,
                schema.allow_extra_fields,
            )
            if schema is not None
            else None
        )
        patterns = tuple(re.compile(pattern) for pattern in config.schema_url_patterns)
        return cls(record, patterns, config.brand_name, config.llm_extraction)

    def wants_record(self, url: str | None) -> bool:
        if self.record is None:
            return False
        if not self.url_patterns:
            return True
        return url is not None and any(pattern.search(url) for pattern in self.url_patterns)


@dataclass(frozen=True)
class FoundItems:
    products: list[Product] = field(default_factory=list)
    record: RecordResult | None = None
    tags: list[Tag] = field(default_factory=list)

    def counts(self, plan: ItemsPlan) -> tuple[int, int]:
        """(found, extracted): every product and record, and those kept (a record strict
        validation refuses is found, not extracted)."""
        found = len(self.products) + (self.record is not None)
        kept = (
            self.record is not None
            and plan.record is not None
            and self.record.kept(plan.record.strict_validation)
        )
        return found, len(self.products) + kept


def find_items(document: ExtractedDocument, url: str | None, plan: ItemsPlan) -> FoundItems:
    """The items of an extracted document (CPU-bound: run it where the extraction runs)."""
    structured = parse_structured(document.html, url) if document.html is not None else None
    products, record = products_and_record(document, url, plan, structured)
    brands = [brand for product in products if isinstance(brand := product.value("brand"), str)]
    if plan.brand_name:
        brands.append(plan.brand_name)
    tags = tags_for(
        document.text,
        language=_language(document.metadata),
        metadata=document.metadata,
        structured=structured,
        brands=brands,
    )
    return FoundItems(products, record, tags)


def products_and_record(
    document: ExtractedDocument, url: str | None, plan: ItemsPlan, structured: StructuredData | None
) -> tuple[list[Product], RecordResult | None]:
    """The page's products and, when the plan wants one of this page, its record."""
    if document.html is None:
        return [], None
    products = extract_products(document.html, url, structured)
    if plan.record is None or not plan.wants_record(url):
        return products, None
    record = extract_record(
        document.html,
        url,
        plan.record.definition,
        allow_extra_fields=plan.record.allow_extra_fields,
        structured=structured,
        products=products,
        metadata=document.metadata | {"title": document.title},
    )
    return products, record


def _language(metadata: dict[str, Any]) -> str | None:
    language = metadata.get("language")
    return language if isinstance(language, str) and language else None
