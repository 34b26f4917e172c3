"""Products from declared markup: JSON-LD (graphs, arrays, offers of every shape, malformed
blocks), microdata, RDFa and OpenGraph, each field with its source."""

from __future__ import annotations

import json

import pytest

from services.extractor.domain.products import extract_products
from services.extractor.domain.structured import parse_structured


def _page(head: str = "", body: str = "", lang: str = "en") -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Shop</title>{head}</head>'
        f'<body><nav><a href="/">Home</a> <a href="/cart">Cart (0)</a></nav><main>{body}</main>'
        "<footer>© Shop Ltd · Prices include VAT</footer></body></html>"
    )


def _jsonld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


PRODUCT = {
    "@context": "https://schema.org",
    "@type": "Product",
    "name": "Trail Runner 3",
    "brand": {"@type": "Brand", "name": "Fellwalk"},
    "sku": "TR3-42-BLK",
    "gtin13": "4006381333931",
    "mpn": "FW-TR3",
    "image": [
        "https://cdn.example/tr3-1.jpg",
        {"@type": "ImageObject", "url": "https://cdn.example/tr3-2.jpg"},
    ],
    "description": "A light trail shoe.",
    "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.6", "reviewCount": "128"},
    "offers": {
        "@type": "Offer",
        "price": "119.95",
        "priceCurrency": "EUR",
        "availability": "http://schema.org/InStock",
        "priceSpecification": [
            {
                "@type": "UnitPriceSpecification",
                "price": 149.95,
                "priceType": "https://schema.org/StrikethroughPrice",
            }
        ],
    },
}


def test_a_jsonld_product_with_every_field_normalised_and_sourced() -> None:
    (product,) = extract_products(_page(_jsonld(PRODUCT)), "https://shop.example/p/tr3")
    assert product.data() == {
        "name": "Trail Runner 3",
        "brand": "Fellwalk",
        "sku": "TR3-42-BLK",
        "gtin": "4006381333931",
        "mpn": "FW-TR3",
        "price": "119.95",
        "currency": "EUR",
        "availability": "InStock",
        "regular_price": "149.95",
        "description": "A light trail shoe.",
        "images": ["https://cdn.example/tr3-1.jpg", "https://cdn.example/tr3-2.jpg"],
        "rating": 4.6,
        "review_count": 128,
    }
    assert product.main and product.confidence > 0.9
    assert product.to_json()["sources"]["price"] == "jsonld"


def test_a_graph_with_breadcrumbs_and_an_aggregate_offer() -> None:
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "name": "Trail Runner 3 | Shop"},
            {
                "@type": "BreadcrumbList",
                "itemListElement": [
                    {"@type": "ListItem", "position": 2, "name": "Shoes"},
                    {"@type": "ListItem", "position": 1, "name": "Men"},
                    {"@type": "ListItem", "position": 3, "item": {"@id": "/trail", "name": "Trail"}},
                ],
            },
            {
                "@type": ["Product", "IndividualProduct"],
                "name": "Trail Runner 3",
                "offers": {
                    "@type": "AggregateOffer",
                    "lowPrice": 99,
                    "highPrice": 129,
                    "priceCurrency": "GBP",
                },
            },
        ],
    }
    (product,) = extract_products(_page(_jsonld(graph)), "https://shop.example.co.uk/tr3")
    assert (product.value("price"), product.value("currency")) == ("99.00", "GBP")
    assert product.value("category") == "Men > Shoes > Trail"


def test_of_several_offers_the_one_in_stock_is_the_price() -> None:
    offers = [
        {"@type": "Offer", "price": "89.00", "priceCurrency": "USD", "availability": "OutOfStock"},
        {
            "@type": "Offer",
            "price": "94.00",
            "priceCurrency": "USD",
            "availability": "https://schema.org/InStock",
        },
        {
            "@type": "Offer",
            "price": "99.00",
            "priceCurrency": "USD",
            "availability": "https://schema.org/InStock",
        },
    ]
    (product,) = extract_products(_page(_jsonld({**PRODUCT, "offers": offers})), "https://shop.example/p")
    assert (product.value("price"), product.value("availability")) == ("94.00", "InStock")


def test_a_page_listing_several_products_gives_each_main_first() -> None:
    related = {"@type": "Product", "name": "Trail Sock", "offers": {"price": "9.00", "priceCurrency": "EUR"}}
    head = _jsonld([PRODUCT, related])
    products = extract_products(_page(head), "https://shop.example/p/tr3")
    assert [(product.value("name"), product.main) for product in products] == [
        ("Trail Runner 3", True),
        ("Trail Sock", False),
    ]


def test_microdata_with_nested_offer() -> None:
    body = (
        '<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Kettle Steel 1.7 l</h1>'
        '<img itemprop="image" src="/img/kettle.jpg"><span itemprop="brand">Brewmaster</span>'
        '<span itemprop="sku">KS-17</span>'
        '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<meta itemprop="priceCurrency" content="GBP"><span itemprop="price" content="34.99">£34.99</span>'
        '<link itemprop="availability" href="https://schema.org/OutOfStock">Out of stock</div></div>'
    )
    (product,) = extract_products(_page(body=body), "https://shop.example.co.uk/kettle")
    assert (product.value("name"), product.value("brand"), product.value("sku")) == (
        "Kettle Steel 1.7 l",
        "Brewmaster",
        "KS-17",
    )
    assert (product.value("price"), product.value("currency"), product.value("availability")) == (
        "34.99",
        "GBP",
        "OutOfStock",
    )
    assert product.value("images") == ["https://shop.example.co.uk/img/kettle.jpg"]
    assert product.to_json()["sources"]["name"] == "microdata"


def test_rdfa_product() -> None:
    body = (
        '<div vocab="https://schema.org/" typeof="Product"><h1 property="name">Desk Lamp Nova</h1>'
        '<span property="sku">DL-NOVA</span><div property="offers" typeof="Offer">'
        '<span property="price" content="59.00">59,00 €</span><meta property="priceCurrency" content="EUR">'
        "</div></div>"
    )
    products = extract_products(_page(body=body, lang="de"), "https://lampen.example.de/nova")
    assert products and products[0].value("name") == "Desk Lamp Nova"
    assert products[0].value("sku") == "DL-NOVA"
    assert products[0].to_json()["sources"]["name"] == "rdfa"


def test_opengraph_product_tags_alone_make_a_product() -> None:
    head = (
        '<meta property="og:type" content="product"><meta property="og:title" content="Wool Beanie">'
        '<meta property="product:price:amount" content="24.5">'
        '<meta property="product:price:currency" content="CAD">'
        '<meta property="product:availability" content="in stock">'
    )
    (product,) = extract_products(_page(head), "https://shop.example.ca/beanie")
    assert product.data() == {
        "name": "Wool Beanie",
        "price": "24.5",
        "currency": "CAD",
        "availability": "InStock",
    }
    assert product.confidence < 0.9  # OpenGraph is a weaker source than schema.org markup


# Each kind of broken JSON-LD shops publish; a JSON parser refuses every one.
_OFFER = '"offers": {"price": "10.00", "priceCurrency": "EUR"}'
MALFORMED = {
    "trailing commas": '{"@type": "Product", "name": "Lamp A", "offers": {"price": "10.00",},}',
    "CDATA": f'//<![CDATA[\n{{"@type": "Product", "name": "Lamp A", {_OFFER}}}\n//]]>',
    "unescaped quotes": f'{{"@type": "Product", "name": "Lamp "A"", {_OFFER}}}',
    "raw newline": f'{{"@type": "Product", "name": "Lamp\nA", {_OFFER}}}',
    "HTML entities": f'{{"@type": "Product", "name": "Lamp A", {_OFFER}}}'.replace('"', "&quot;"),
    "comment": f'/* product */ {{"@type": "Product", "name": "Lamp A", {_OFFER}}}',
    "two objects": '{"@type": "Organization", "name": "Shop"} '
    f'{{"@type": "Product", "name": "Lamp A", {_OFFER}}}',
}


@pytest.mark.parametrize("block", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_jsonld_is_repaired(block: str) -> None:
    html = _page(f'<script type="application/ld+json">{block}</script>')
    with pytest.raises(ValueError):
        json.loads(block)  # it really is broken
    products = extract_products(html, "https://shop.example/lamp")
    assert [p.value("price") for p in products] == ["10.00"]
    assert products[0].value("name") in ("Lamp A", 'Lamp "A"')


def test_a_broken_block_costs_only_itself() -> None:
    html = _page(
        '<script type="application/ld+json">{"@type": "Product", "name": </script>' + _jsonld(PRODUCT)
    )
    assert [p.value("name") for p in extract_products(html, "https://shop.example/p")] == ["Trail Runner 3"]


def test_types_found_include_nested_ones() -> None:
    types = parse_structured(_page(_jsonld(PRODUCT)), None).types
    assert {"Product", "Brand", "Offer", "AggregateRating"} <= types
