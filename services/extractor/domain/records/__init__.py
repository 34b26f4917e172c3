"""A schema-defined record (seed 001 results): one JSON object per page, shaped by the job's
extractor schema, filled without an LLM, validated with jsonschema (Draft 2020-12).

Each property is filled from the first source that has it:
1. its annotations (`x-trawl-selector`, `x-trawl-xpath`, ... — see `selecting`), read off the
   page; objects and lists of objects under `x-trawl-base-selector`;
2. the page's structured data, by name (see `mapping`), or its main product's normalised fields;
3. the page's metadata (title, author, date, description, site name, language, URL).
Values are coerced to the schema's types (`coercion`). Fields the schema does not name come
from the main structured item's other properties, unless `allow_extra_fields` is false or the
schema sets `additionalProperties: false`. Each field has a confidence (its source's); the
record's is their mean over the schema's properties, required ones counting double, a missing
one counting zero. Never raises on what a page holds: a record that does not validate comes back
with `valid` false and its errors, as `{"path": "/json/pointer", "message"}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

from services.extractor.domain.products import Product
from services.extractor.domain.records import selecting
from services.extractor.domain.records.coercion import coerce, schema_types
from services.extractor.domain.records.mapping import (
    Found,
    in_item,
    in_mapping,
    in_metadata,
    in_product,
    loose,
    main_item,
    reads_products,
)
from services.extractor.domain.structured import StructuredData, StructuredItem, html_tree, parse_structured

__all__ = [
    "RecordResult",
    "compiled_schema",
    "extract_record",
    "overall_confidence",
    "schema_problems",
    "validation_errors",
]

_PAGE_CONFIDENCE = 0.9
_MISFIT_PENALTY = 0.5  # a value found but not of the schema's type
_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_MAX_ERRORS = 50


@dataclass(frozen=True)
class RecordResult:
    data: dict[str, Any]
    valid: bool
    errors: list[dict[str, str]]
    confidence: float
    field_confidence: dict[str, float] = field(default_factory=dict)

    def kept(self, strict: bool) -> bool:
        """Whether the record is among the results: strict validation keeps out invalid ones."""
        return self.valid or not strict

    def to_json(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "valid": self.valid,
            "errors": self.errors,
            "confidence": self.confidence,
            "field_confidence": self.field_confidence,
        }


def schema_problems(definition: Mapping[str, Any]) -> list[str]:
    """Why a definition cannot be an extractor schema (empty when it can): not a Draft 2020-12
    schema, not of an object, or an annotation that does not compile."""
    return list(_compiled(_canonical(definition))[0])


def compiled_schema(definition: Mapping[str, Any]) -> tuple[tuple[str, ...], Draft202012Validator | None]:
    """The problems of a definition and, without any, its validator (cached per schema)."""
    return _compiled(_canonical(definition))


def _canonical(definition: Mapping[str, Any]) -> str:
    return json.dumps(definition, sort_keys=True, default=str)


@lru_cache(maxsize=64)
def _compiled(definition_json: str) -> tuple[tuple[str, ...], Draft202012Validator | None]:
    """The problems of a definition and, without any, its validator: made once per schema, not
    once per page (checking a schema against the meta-schema costs more than filling a record)."""
    definition = json.loads(definition_json)
    try:
        Draft202012Validator.check_schema(definition)
    except SchemaError as exc:
        return (f"not a JSON Schema (Draft 2020-12): {exc.message}",), None
    if not isinstance(definition, dict) or "object" not in schema_types(definition):
        return ('a record is a JSON object: give "type": "object" and its "properties"',), None
    problems = tuple(
        f"{path}: {problem}" for path, spec in _specs(definition, "") for problem in selecting.problems(spec)
    )
    return problems, None if problems else Draft202012Validator(definition, format_checker=FormatChecker())


def extract_record(
    html: str,
    url: str | None,
    definition: Mapping[str, Any],
    *,
    allow_extra_fields: bool = True,
    structured: StructuredData | None = None,
    products: Sequence[Product] = (),
    metadata: Mapping[str, Any] | None = None,
) -> RecordResult:
    """The page's record as the schema defines it (CPU-bound: run it in the extractor's pool)."""
    schema = dict(definition)
    problems, validator = _compiled(_canonical(schema))
    if validator is None:
        return RecordResult({}, False, [{"path": "", "message": problem} for problem in problems], 0.0)
    item = main_item(structured if structured is not None else parse_structured(html, url), schema)
    page = _Page(
        # Parsed only for a schema that reads the page by selectors.
        tree=html_tree(html) if any(_annotated(spec) for spec in _properties(schema)) else None,
        url=url,
        item=item,
        products=products if reads_products(item, schema) else (),
        metadata=metadata or {},
        allow_extra_fields=allow_extra_fields and schema.get("additionalProperties") is not False,
    )
    properties: dict[str, Any] = schema.get("properties", {})
    record: dict[str, Any] = {}
    confidence: dict[str, float] = {}
    for name, spec in properties.items():
        found = page.value_of(name, spec if isinstance(spec, dict) else {})
        if found is not None:
            record[name], confidence[name] = found.value, round(found.confidence, 3)
    if page.allow_extra_fields and page.item is not None:
        named = {loose(name) for name in properties}
        for key, value in page.item.properties.items():
            if loose(key) not in named and not key.startswith("@") and value not in (None, "", []):
                record.setdefault(key, _without_types(value))
    errors = validation_errors(validator, record)
    return RecordResult(record, not errors, errors, overall_confidence(schema, confidence), confidence)


@dataclass(frozen=True)
class _Page:
    tree: Any
    url: str | None
    item: StructuredItem | None
    products: Sequence[Product]
    metadata: Mapping[str, Any]
    allow_extra_fields: bool

    @property
    def language(self) -> str | None:
        language = self.metadata.get("language")
        return language if isinstance(language, str) else None

    def value_of(self, name: str, spec: dict[str, Any]) -> Found | None:
        if _annotated(spec):
            if self.tree is None:
                return None
            return self._fitted(self.read(self.tree, spec), spec, _PAGE_CONFIDENCE)
        for found in self._sources(name):
            if found is not None:
                return self._fitted(self.shape(found.value, spec), spec, found.confidence)
        return None

    def _sources(self, name: str) -> list[Found | None]:
        # The main product is normalised from the same markup and what the page shows: first.
        return [
            in_product(self.products, name),
            in_item(self.item, name) if self.item is not None else None,
            in_metadata(self.metadata, name),
            Found(self.url, _PAGE_CONFIDENCE) if loose(name) in ("url", "link") and self.url else None,
        ]

    def read(self, context: Any, spec: dict[str, Any]) -> tuple[Any, bool]:
        """A property read off the page (or off one element of it) by its selecting."""
        kind = schema_types(spec)[0]
        items: dict[str, Any] = spec["items"] if isinstance(spec.get("items"), dict) else {}
        if kind == "array" and (selecting.has_base(spec) or selecting.has_base(items)):
            base = spec if selecting.has_base(spec) else items
            rows = [self.read_object(element, items) for element in selecting.bases(context, base)]
            kept = [row for row, _ in rows if row]
            return kept, all(fitted for row, fitted in rows if row)
        if kind == "object":
            if selecting.has_base(spec):
                elements = selecting.bases(context, spec)
                return self.read_object(elements[0], spec) if elements else (None, False)
            return self.read_object(context, spec)
        texts = selecting.texts(context, spec, self.url)
        if kind == "array":
            return coerce(texts, spec, language=self.language)
        return coerce(texts[0], spec, language=self.language) if texts else (None, False)

    def read_object(self, element: Any, spec: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        row: dict[str, Any] = {}
        fitted = True
        for name, sub in spec.get("properties", {}).items():
            if isinstance(sub, dict) and _annotated(sub):
                value, ok = self.read(element, sub)
                if value not in (None, [], {}):
                    row[name], fitted = value, fitted and ok
        return row, fitted

    def shape(self, value: Any, spec: dict[str, Any]) -> tuple[Any, bool]:
        """A structured value as the schema shapes it: objects property by property."""
        kind = schema_types(spec)[0]
        properties = spec.get("properties")
        if kind == "object" and isinstance(properties, dict) and isinstance(value, dict):
            shaped: dict[str, Any] = {}
            fitted = True
            for name, sub in properties.items():
                found = in_mapping(value, name)
                if found is not None:
                    shaped[name], ok = self.shape(found, sub if isinstance(sub, dict) else {})
                    fitted = fitted and ok
            if self.allow_extra_fields:
                named = {loose(name) for name in properties}
                shaped |= {
                    key: _without_types(extra)
                    for key, extra in value.items()
                    if not key.startswith("@") and loose(key) not in named
                }
            return shaped, fitted
        items = spec.get("items")
        if kind == "array" and isinstance(items, dict) and schema_types(items)[0] == "object":
            rows = [self.shape(row, items) for row in (value if isinstance(value, list) else [value])]
            return [row for row, _ in rows], all(ok for _, ok in rows)
        return coerce(value, spec, language=self.language)

    @staticmethod
    def _fitted(result: tuple[Any, bool], spec: dict[str, Any], confidence: float) -> Found | None:
        value, fitted = result
        if value is None or (value == [] and schema_types(spec)[0] != "array"):
            return None
        return Found(value, confidence if fitted else confidence * _MISFIT_PENALTY)


def _properties(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    properties = schema.get("properties")
    return (
        [spec for spec in properties.values() if isinstance(spec, dict)]
        if isinstance(properties, dict)
        else []
    )


def _annotated(spec: dict[str, Any]) -> bool:
    """Whether a property (or anything inside it) is read off the page."""
    if selecting.reads_page(spec) or selecting.has_base(spec):
        return True
    items = spec.get("items")
    if isinstance(items, dict) and _annotated(items):
        return True
    properties = spec.get("properties")
    return isinstance(properties, dict) and any(
        isinstance(sub, dict) and _annotated(sub) for sub in properties.values()
    )


def _without_types(value: Any) -> Any:
    """A structured value as plain data: nested items without their "@type" and "@id"."""
    if isinstance(value, dict):
        return {key: _without_types(inner) for key, inner in value.items() if not key.startswith("@")}
    if isinstance(value, list):
        return [_without_types(inner) for inner in value]
    return value


def _specs(spec: Mapping[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every (sub)schema of properties and items, with its JSON pointer."""
    found = [(path or "/", dict(spec))]
    for name, sub in (spec.get("properties") or {}).items():
        if isinstance(sub, dict):
            found += _specs(sub, f"{path}/properties/{name}")
    if isinstance(items := spec.get("items"), dict):
        found += _specs(items, f"{path}/items")
    return found


def validation_errors(validator: Draft202012Validator, record: dict[str, Any]) -> list[dict[str, str]]:
    errors = sorted(validator.iter_errors(record), key=lambda error: list(map(str, error.absolute_path)))
    return [_error(error) for error in errors[:_MAX_ERRORS]]


def _error(error: ValidationError) -> dict[str, str]:
    parts = [str(part) for part in error.absolute_path]
    if error.validator == "required" and (missing := _REQUIRED.match(error.message)):
        parts.append(missing.group(1))  # the path of what is missing, not of its parent
    pointer = "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)
    return {"path": pointer, "message": error.message}


def overall_confidence(schema: dict[str, Any], confidence: dict[str, float]) -> float:
    required = set(schema.get("required", []))
    weights = {name: 2.0 if name in required else 1.0 for name in schema.get("properties", {})}
    total = sum(weights.values())
    if not total:
        return 0.0
    return round(sum(weight * confidence.get(name, 0.0) for name, weight in weights.items()) / total, 3)
