"""Each validation mode, extra fields, and schemas that cannot be used."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.extractor.domain.records import extract_record, schema_problems

URL = "https://books.example/item/7"
PAGE = (
    '<html><head><script type="application/ld+json">'
    + json.dumps(
        {
            "@type": "Book",
            "name": "Tide Tables",
            "isbn": "9780000000002",
            "numberOfPages": "three hundred",
            "publisher": {"@type": "Organization", "name": "Quay Press", "@id": "#quay"},
        }
    )
    + "</script></head><body><h1>Tide Tables</h1></body></html>"
)
SCHEMA: dict[str, Any] = {
    "title": "Book",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "isbn": {"type": "string", "pattern": "^[0-9]{13}$"},
        "pages": {"type": "integer"},
        "numberOfPages": {"type": "integer"},
        "edition": {"type": "string"},
    },
    "required": ["name", "edition"],
}


def test_an_invalid_record_says_where_and_why_and_strict_validation_keeps_it_out() -> None:
    record = extract_record(PAGE, URL, SCHEMA)
    assert not record.valid
    assert record.errors == [
        {"path": "/edition", "message": "'edition' is a required property"},
        {"path": "/numberOfPages", "message": "'three hundred' is not of type 'integer'"},
    ]
    assert record.data["name"] == "Tide Tables"
    assert record.kept(strict=False)  # stored, with valid false and its errors
    assert not record.kept(strict=True)  # refused from the results
    # A value found but not of its type counts for less than one that fits.
    assert record.field_confidence["numberOfPages"] < record.field_confidence["name"]


def test_a_valid_record_is_kept_in_both_modes() -> None:
    schema = SCHEMA | {"required": ["name", "isbn"]}
    schema["properties"] = {key: SCHEMA["properties"][key] for key in ("name", "isbn")}
    record = extract_record(PAGE, URL, schema)
    assert record.valid and record.errors == []
    assert record.kept(strict=True) and record.kept(strict=False)


def test_extra_fields_come_from_the_main_item_unless_the_schema_or_the_job_forbids_them() -> None:
    schema = {"title": "Book", "type": "object", "properties": {"name": {"type": "string"}}}
    allowed = extract_record(PAGE, URL, schema)
    assert allowed.data == {
        "name": "Tide Tables",
        "isbn": "9780000000002",
        "numberOfPages": "three hundred",
        "publisher": {"name": "Quay Press"},
    }
    assert allowed.valid
    assert extract_record(PAGE, URL, schema, allow_extra_fields=False).data == {"name": "Tide Tables"}
    closed = schema | {"additionalProperties": False}
    assert extract_record(PAGE, URL, closed).data == {"name": "Tide Tables"}


def test_a_nested_object_keeps_only_its_named_properties_without_extra_fields() -> None:
    schema = {
        "title": "Book",
        "type": "object",
        "properties": {"publisher": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    html = PAGE.replace('"name": "Quay Press"', '"name": "Quay Press", "founded": "1901"')
    assert extract_record(html, URL, schema, allow_extra_fields=False).data == {
        "publisher": {"name": "Quay Press"}
    }
    assert extract_record(html, URL, schema).data["publisher"] == {"name": "Quay Press", "founded": "1901"}


def test_formats_are_checked() -> None:
    schema = {
        "type": "object",
        "properties": {"contact": {"type": "string", "format": "email", "x-trawl-selector": "a.mail"}},
    }
    record = extract_record("<a class='mail'>not an address</a>", URL, schema)
    assert [error["path"] for error in record.errors] == ["/contact"]


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ({"type": "objekt"}, "not a JSON Schema"),
        ({"type": "array", "items": {}}, "a record is a JSON object"),
        (
            {"type": "object", "properties": {"a": {"x-trawl-selector": "div[["}}},
            "/properties/a: x-trawl-selector",
        ),
        (
            {"type": "object", "properties": {"a": {"x-trawl-xpath": "//div[@"}}},
            "/properties/a: x-trawl-xpath",
        ),
        (
            {"type": "object", "properties": {"a": {"x-trawl-selector": "p", "x-trawl-regex": "(x"}}},
            "x-trawl-regex",
        ),
        (
            {"type": "object", "properties": {"a": {"x-trawl-selector": "p", "x-trawl-xpath": "//p"}}},
            "not both",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "array", "items": {"x-trawl-selector": 3}}}},
            "/properties/a/items: x-trawl-selector",
        ),
    ],
)
def test_a_schema_that_cannot_be_used_is_refused_with_the_reason(
    definition: dict[str, Any], problem: str
) -> None:
    problems = schema_problems(definition)
    assert any(problem in found for found in problems), problems
    record = extract_record("<p>x</p>", URL, definition) if definition.get("type") == "object" else None
    assert record is None or (not record.valid and record.data == {})


def test_a_usable_schema_has_no_problems() -> None:
    assert schema_problems(SCHEMA) == []
