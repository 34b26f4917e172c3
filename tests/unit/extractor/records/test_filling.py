"""A record filled from what a page holds: annotations, structured data, its product, metadata."""

from __future__ import annotations

import json
from typing import Any

from services.extractor.domain.products import extract_products
from services.extractor.domain.records import RecordResult, extract_record

URL = "https://shop.example/p/lamp?colour=red"


def _record(html: str, schema: dict[str, Any], **options: Any) -> RecordResult:
    return extract_record(html, URL, schema, products=extract_products(html, URL), **options)


def _page(body: str, head: str = "") -> str:
    return f"<html lang='en'><head><title>Shop</title>{head}</head><body>{body}</body></html>"


def _jsonld(value: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(value)}</script>'


PRODUCT_SCHEMA = {
    "title": "Product",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "sku": {"type": "string"},
        "price": {"type": "number"},
        "currency": {"type": "string"},
        "availability": {"type": "string", "enum": ["InStock", "OutOfStock"]},
        "review_count": {"type": "integer"},
        "brand": {"type": "string"},
    },
    "required": ["name", "price"],
}


def test_properties_are_mapped_from_json_ld_by_name_through_offers_and_ratings() -> None:
    html = _page(
        "<h1>Desk lamp</h1>",
        _jsonld(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "Desk lamp",
                "sku": "DL-1",
                "brand": {"@type": "Brand", "name": "Lumen"},
                "offers": {
                    "@type": "Offer",
                    "price": "51.77",
                    "priceCurrency": "GBP",
                    "availability": "https://schema.org/OutOfStock",
                },
                "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.5", "reviewCount": "1,234"},
            }
        ),
    )
    record = _record(html, PRODUCT_SCHEMA)
    assert record.valid, record.errors
    assert {
        key: record.data[key]
        for key in ("name", "sku", "price", "currency", "availability", "review_count", "brand")
    } == {
        "name": "Desk lamp",
        "sku": "DL-1",
        "price": 51.77,
        "currency": "GBP",
        "availability": "OutOfStock",
        "review_count": 1234,
        "brand": "Lumen",
    }
    assert record.field_confidence["name"] >= 0.9
    assert 0.9 <= record.confidence <= 1.0


def test_microdata_and_a_page_without_markup_fill_the_same_record() -> None:
    microdata = _page(
        '<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Chair</h1>'
        '<span itemprop="sku">C-9</span><div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<meta itemprop="priceCurrency" content="EUR"><span itemprop="price" content="119.01">119,01 €</span>'
        '<link itemprop="availability" href="https://schema.org/InStock"></div></div>'
    )
    visible = _page(
        "<nav class='breadcrumb'><a href='/'>Home</a></nav><h1>Chair</h1>"
        "<p class='price'>ab 119,01 €</p><p>Auf Lager</p><p>SKU: C-9</p><button>In den Warenkorb</button>"
    )
    wanted = {"name": "Chair", "sku": "C-9", "price": 119.01, "currency": "EUR", "availability": "InStock"}
    for html in (microdata, visible):
        record = _record(html, PRODUCT_SCHEMA)
        assert {key: record.data.get(key) for key in wanted} == wanted, record.data
        assert record.valid


def test_annotations_read_css_xpath_attributes_regexes_and_lists_of_objects() -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "x-trawl-selector": "h1.title"},
            "material": {
                "type": "string",
                "x-trawl-selector": "p.spec",
                "x-trawl-regex": r"Material:\s*(\w+)",
            },
            "weight_kg": {"type": "number", "x-trawl-xpath": "//dd[@class='weight']/text()"},
            "manual": {
                "type": "string",
                "format": "uri",
                "x-trawl-selector": "a.manual",
                "x-trawl-attribute": "href",
            },
            "colours": {"type": "array", "items": {"type": "string"}, "x-trawl-selector": "ul.colours li"},
            "in_stock": {"type": "boolean", "x-trawl-selector": "span.stock"},
            "released": {"type": "string", "format": "date", "x-trawl-selector": "time"},
            "reviews": {
                "type": "array",
                "x-trawl-base-selector": "div.review",
                "items": {
                    "type": "object",
                    "properties": {
                        "author": {"type": "string", "x-trawl-selector": ".who"},
                        "stars": {
                            "type": "integer",
                            "x-trawl-selector": ".stars",
                            "x-trawl-attribute": "data-stars",
                        },
                    },
                    "required": ["author"],
                },
            },
        },
    }
    html = _page(
        "<h1 class='title'> Garden   bench </h1><p class='spec'>Material: teak, oiled</p>"
        "<dl><dt>Weight</dt><dd class='weight'>12,5 kg</dd></dl>"
        "<a class='manual' href='/files/bench.pdf'>PDF</a>"
        "<ul class='colours'><li>Natural</li><li>Grey</li></ul><span class='stock'>Yes</span>"
        "<time>March 4, 2025</time>"
        "<div class='review'><b class='who'>Ana</b><i class='stars' data-stars='5'></i></div>"
        "<div class='review'><b class='who'>Bo</b><i class='stars' data-stars='3'></i></div>"
    )
    record = _record(html, schema)
    assert record.valid, record.errors
    assert record.data == {
        "title": "Garden bench",
        "material": "teak",
        "weight_kg": 12.5,
        "manual": "https://shop.example/files/bench.pdf",
        "colours": ["Natural", "Grey"],
        "in_stock": True,
        "released": "2025-03-04",
        "reviews": [{"author": "Ana", "stars": 5}, {"author": "Bo", "stars": 3}],
    }
    assert record.confidence > 0.85


def test_a_date_in_the_pages_language_and_an_enum_written_loosely_are_coerced() -> None:
    schema = {
        "type": "object",
        "properties": {
            "published": {"type": "string", "format": "date", "x-trawl-selector": "p.date"},
            "state": {"type": "string", "enum": ["in_stock", "sold_out"], "x-trawl-selector": "p.state"},
        },
    }
    html = "<html lang='de'><body><p class='date'>3. Dezember 2026</p><p class='state'>Sold out</p></body>"
    record = extract_record(html, URL, schema, metadata={"language": "de"})
    assert record.data == {"published": "2026-12-03", "state": "sold_out"}


def test_metadata_fills_what_nothing_else_has() -> None:
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "author": {"type": "string"}, "url": {"type": "string"}},
    }
    record = extract_record(
        _page("<p>text</p>"), URL, schema, metadata={"title": "A day out", "author": "Jo Bloggs"}
    )
    assert record.data == {"title": "A day out", "author": "Jo Bloggs", "url": URL}
    assert record.field_confidence["title"] < 0.9  # metadata is the least trusted source


def test_an_article_schema_does_not_take_the_name_of_a_product_on_the_page() -> None:
    html = _page(
        "<h1>Review: the new lamp</h1>",
        _jsonld({"@type": "NewsArticle", "headline": "Review: the new lamp", "author": {"name": "Kim"}})
        + _jsonld({"@type": "Product", "name": "Lamp", "offers": {"price": "10", "priceCurrency": "USD"}}),
    )
    schema = {
        "title": "NewsArticle",
        "type": "object",
        "properties": {"name": {}, "author": {"type": "string"}},
    }
    record = _record(html, schema)
    assert record.data["name"] == "Review: the new lamp"
    assert record.data["author"] == "Kim"


def test_a_page_with_nothing_gives_an_empty_invalid_record_and_never_raises() -> None:
    for html in ("", "<html>", "\x00\x01 not html", "<?xml version='1.0' encoding='utf-8'?><p>x</p>"):
        record = extract_record(html, None, PRODUCT_SCHEMA)
        assert not record.valid
        assert {error["path"] for error in record.errors} == {"/name", "/price"}
        assert record.confidence == 0.0
