"""The rows of an export: each dataset's record as a row, its columns and their types, and the
row shaped as the options ask (flattened, some fields only, some left out)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from shared.events import ExportOptions

Row = dict[str, Any]


class ColumnType(StrEnum):
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    STRING = "string"
    OBJECT = "object"  # a nested object: dotted columns when flattened, else JSON text
    JSON = "json"  # lists and mixed values: JSON text where a format has no nesting


# What the JSON Schema of an extractor schema declares, for columns no row gives a value.
_SCHEMA_TYPES = {
    "boolean": ColumnType.BOOL,
    "integer": ColumnType.INT,
    "number": ColumnType.FLOAT,
    "string": ColumnType.STRING,
    "object": ColumnType.OBJECT,
    "array": ColumnType.JSON,
}

# Every record of a dataset has these columns; their types are known before any row is read.
ITEM_COLUMNS: Final = {
    "_item_id": ColumnType.STRING,
    "_kind": ColumnType.STRING,
    "_url": ColumnType.STRING,
    "_confidence": ColumnType.FLOAT,
    "_valid": ColumnType.BOOL,
    "_kept": ColumnType.BOOL,
    "_errors": ColumnType.JSON,
    "_product_hash": ColumnType.STRING,
    "_changed": ColumnType.BOOL,
    "_brand_name": ColumnType.STRING,
    "_document_id": ColumnType.STRING,
    "_extracted_at": ColumnType.STRING,
}
# A product's normalised fields (the extractor's), in the order a buyer reads them.
PRODUCT_COLUMNS: Final = {
    "name": ColumnType.STRING,
    "brand": ColumnType.STRING,
    "sku": ColumnType.STRING,
    "gtin": ColumnType.STRING,
    "mpn": ColumnType.STRING,
    "price": ColumnType.STRING,  # a decimal string, as extracted: no float rounding
    "currency": ColumnType.STRING,
    "availability": ColumnType.STRING,
    "regular_price": ColumnType.STRING,
    "rating": ColumnType.FLOAT,
    "review_count": ColumnType.INT,
    "category": ColumnType.STRING,
    "url": ColumnType.STRING,
    "description": ColumnType.STRING,
    "images": ColumnType.JSON,
}
DOCUMENT_COLUMNS: Final = {
    "document_id": ColumnType.STRING,
    "url": ColumnType.STRING,
    "title": ColumnType.STRING,
    "document_type": ColumnType.STRING,
    "metadata": ColumnType.OBJECT,
    "chunk_count": ColumnType.INT,
    "items_found": ColumnType.INT,
    "indexed_at": ColumnType.STRING,
    "markdown": ColumnType.STRING,
}
IMAGE_COLUMNS: Final = {
    "image_key": ColumnType.STRING,
    "url": ColumnType.STRING,
    "page_url": ColumnType.STRING,
    "alt_text": ColumnType.STRING,
    "label": ColumnType.STRING,
    "width": ColumnType.INT,
    "height": ColumnType.INT,
    "format": ColumnType.STRING,
    "bytes": ColumnType.INT,
    "sha256": ColumnType.STRING,
    "phash": ColumnType.STRING,
    "exif_orientation": ColumnType.INT,
    "decode_error": ColumnType.STRING,
    "valid": ColumnType.BOOL,
    "reasons": ColumnType.JSON,
    "duplicate_of": ColumnType.STRING,
    "stored_at": ColumnType.STRING,
}
LLM_OUTPUT_COLUMNS: Final = {
    "task_id": ColumnType.STRING,
    "kind": ColumnType.STRING,
    "query_name": ColumnType.STRING,
    "session_id": ColumnType.STRING,
    "model": ColumnType.STRING,
    "document_id": ColumnType.STRING,
    "product_hash": ColumnType.STRING,
    "prompt_tokens": ColumnType.INT,
    "completion_tokens": ColumnType.INT,
    "cached": ColumnType.BOOL,
    "completed_at": ColumnType.STRING,
    "output": ColumnType.OBJECT,
}


def plain(value: Any) -> Any:
    """A value as JSON has it: ids and times as text."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def item_row(record: Mapping[str, Any]) -> Row:
    """An item is its data, then what Trawl knows of it under `_`-prefixed names."""
    row: Row = dict(record["data"])
    row.update(
        {
            "_item_id": plain(record["item_id"]),
            "_kind": record["kind"],
            "_url": record["source_url"],
            "_confidence": record["confidence"],
            "_valid": record["valid"],
            "_kept": record["kept"],
            "_errors": record["errors"],
            "_product_hash": record["product_hash"],
            "_changed": record["changed"],
            "_brand_name": record["brand_name"],
            "_document_id": plain(record["document_id"]),
            "_extracted_at": plain(record["received_at"]),
        }
    )
    return row


def document_row(record: Mapping[str, Any]) -> Row:
    """A document without its Markdown (read from S3 only when the export asks for it)."""
    return {name: plain(record[name]) for name in DOCUMENT_COLUMNS if name != "markdown"}


def image_row(record: Mapping[str, Any]) -> Row:
    return {name: plain(record[name]) for name in IMAGE_COLUMNS}


def llm_output_row(record: Mapping[str, Any], output: Any) -> Row:
    """A task's output (as the task's schema shaped it) beside what the task was."""
    row = {name: plain(record[name]) for name in LLM_OUTPUT_COLUMNS if name != "output"}
    row["output"] = output
    return row


def schema_columns(definition: Mapping[str, Any] | None) -> dict[str, ColumnType]:
    """The properties of an extractor schema, in its order, with the types it declares."""
    properties = (definition or {}).get("properties")
    if not isinstance(properties, Mapping):
        return {}
    columns: dict[str, ColumnType] = {}
    for name, spec in properties.items():
        declared = spec.get("type") if isinstance(spec, Mapping) else None
        if isinstance(declared, list):  # ["string", "null"]
            declared = next((kind for kind in declared if kind != "null"), None)
        columns[str(name)] = _SCHEMA_TYPES.get(str(declared), ColumnType.STRING)
    return columns


def flatten(row: Mapping[str, Any], prefix: str = "") -> Row:
    """Nested objects as dotted columns: {"a": {"b": 1}} -> {"a.b": 1}; an empty object has no
    leaves, so no column. Lists stay values."""
    flat: Row = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _lookup(row: Mapping[str, Any], name: str) -> Any:
    """A column by name, or by its dotted path into nested objects."""
    if name in row:
        return row[name]
    value: Any = row
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def unwound(row: Row, name: str | None) -> list[Row]:
    """Apify's `unwind`: a list in column `name` makes a row per element (an object element's
    fields merged into the row, anything else as the column's value); an object is merged
    into the row; an empty list leaves the row out. Other rows stay as they are."""
    if name is None or name not in row:
        return [row]
    value = row[name]
    rest = {key: item for key, item in row.items() if key != name}
    if isinstance(value, Mapping):
        return [{**rest, **value}]
    if not isinstance(value, list):
        return [row]
    return [
        {**rest, **element} if isinstance(element, Mapping) else {**rest, name: element} for element in value
    ]


def shaped_rows(rows: Iterable[Row], options: ExportOptions) -> list[Row]:
    return [shape(part, options) for row in rows for part in unwound(row, options.unwind)]


def shape(row: Row, options: ExportOptions) -> Row:
    """The row as the options want it: flattened, then only `fields` (in their order), then
    without `omit`."""
    shaped = flatten(row) if options.flatten else row
    if options.fields:
        shaped = {name: _lookup(shaped, name) for name in options.fields}
    if options.omit:
        left_out = set(options.omit)
        shaped = {name: value for name, value in shaped.items() if name not in left_out}
    return shaped


def _type_of(value: Any) -> ColumnType | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return ColumnType.BOOL
    if isinstance(value, int):
        return ColumnType.INT
    if isinstance(value, float):
        return ColumnType.FLOAT
    if isinstance(value, str):
        return ColumnType.STRING
    return ColumnType.OBJECT if isinstance(value, Mapping) else ColumnType.JSON


def _merged(seen: set[ColumnType]) -> ColumnType:
    if len(seen) == 1:
        return next(iter(seen))
    if seen == {ColumnType.INT, ColumnType.FLOAT}:
        return ColumnType.FLOAT
    # Values of several kinds in one column: each as text (JSON text for the nested ones).
    return ColumnType.JSON if seen & {ColumnType.JSON, ColumnType.OBJECT} else ColumnType.STRING


@dataclass
class Columns:
    """The columns of a table format, learnt from the rows themselves: those declared first (the
    extractor schema's properties, the dataset's own), in their order, then every other name in
    the order rows bring it. A column's type is what its values are; a column without any value
    keeps its declared type."""

    declared: Mapping[str, ColumnType] = field(default_factory=dict)
    fixed: bool = False  # `fields` chose the columns: no other is added
    _seen: dict[str, set[ColumnType]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._seen = {name: set() for name in self.declared}

    def observe(self, rows: Iterable[Row]) -> None:
        for row in rows:
            for name, value in row.items():
                seen = self._seen.get(name)
                if seen is None:
                    if self.fixed:
                        continue
                    seen = self._seen[name] = set()
                kind = _type_of(value)
                if kind is not None:
                    seen.add(kind)

    @property
    def names(self) -> list[str]:
        return list(self._seen)

    def types(self) -> dict[str, ColumnType]:
        return {
            name: _merged(seen) if seen else self.declared.get(name, ColumnType.STRING)
            for name, seen in self._seen.items()
        }


def declared_columns(
    dataset_columns: Mapping[str, ColumnType], schema: Mapping[str, ColumnType], options: ExportOptions
) -> Columns:
    """Where column discovery starts: `fields` when given (and nothing else), else the schema's
    properties then the dataset's own columns; flattened and without `omit` as rows will be."""
    if options.fields:
        known = {**schema, **dataset_columns}
        return Columns({name: known.get(name, ColumnType.STRING) for name in options.fields}, fixed=True)
    columns = {**schema, **dataset_columns}
    if options.flatten:
        # A nested object becomes its dotted leaves, which the rows will tell.
        columns = {name: kind for name, kind in columns.items() if kind is not ColumnType.OBJECT}
    left_out = set(options.omit)
    return Columns({name: kind for name, kind in columns.items() if name not in left_out})
