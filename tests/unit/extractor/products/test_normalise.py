"""Prices, currencies, GTINs, availability and product identity, against values worked out by
hand (GTIN check digits from GS1's rule, computed here digit by digit in the test data)."""

from __future__ import annotations

import pytest

from services.extractor.domain.products import Product, product_identity
from services.extractor.domain.products.model import FieldValue
from services.extractor.domain.products.normalise import (
    availability,
    currency_of,
    decimal_text,
    gtin,
    price_and_symbol,
)


@pytest.mark.parametrize(
    ("written", "price", "sign"),
    [
        ("Price: £26.08", "26.08", "£"),
        ("ab 119,01 €", "119.01", "€"),
        ("$1,299.00", "1299.00", "$"),
        ("1.299,00 €", "1299.00", "€"),
        ("CHF 45.-", "45", "CHF"),
        ("12,5 zł", "12.5", "zł"),
        ("R$ 99,90", "99.90", "R$"),
        ("Free", None, None),
    ],
)
def test_visible_prices(written: str, price: str | None, sign: str | None) -> None:
    assert price_and_symbol(written) == (price, sign)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("45.00", "45.00"),
        ("45", "45"),
        (45, "45.00"),
        (19.9, "19.90"),
        (0.125, "0.125"),
        ("0", None),
        (-3, None),
        (True, None),
    ],
)
def test_declared_prices_keep_their_digits(value: object, expected: str | None) -> None:
    assert decimal_text(value) == expected


@pytest.mark.parametrize(
    ("sign", "url", "language", "expected"),
    [
        ("eur", None, None, "EUR"),
        ("€", None, None, "EUR"),
        ("$", "https://shop.example.com/x", "en", "USD"),
        ("$", "https://shop.example.ca/x", None, "CAD"),
        ("$", "https://shop.example.com.au/x", None, "AUD"),
        ("$", "https://shop.example.com/x", "es-MX", "MXN"),
        ("kr", "https://butik.example.dk/x", None, "DKK"),
        ("¥", "https://shop.example.cn/x", None, "CNY"),
        ("zł", None, None, "PLN"),
        ("", None, None, None),
    ],
)
def test_currencies(sign: str, url: str | None, language: str | None, expected: str | None) -> None:
    assert currency_of(sign, url=url, language=language) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("4006381333931", "4006381333931"),  # EAN-13: 4+0+6+3+8+1+3 weights... check digit 1
        ("036000291452", "036000291452"),  # UPC-A, check digit 2
        ("96385074", "96385074"),  # EAN-8
        ("10036000291459", "10036000291459"),  # GTIN-14
        ("4006381333932", None),  # wrong check digit
        ("4006-3813-3393-1", "4006381333931"),
        ("123", None),
        ("a897fe39b1053632", None),
    ],
)
def test_gtins_are_kept_only_with_a_valid_check_digit(code: str, expected: str | None) -> None:
    assert gtin(code) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("http://schema.org/InStock", "InStock"),
        ("https://schema.org/OutOfStock", "OutOfStock"),
        ("instock", "InStock"),
        ("in_stock", "InStock"),
        ("PreOrder", "PreOrder"),
        ("Only 3 left in stock", "InStock"),
        ("Nicht auf Lager", "OutOfStock"),
        ("Auf Lager", "InStock"),
        ("Rupture de stock", "OutOfStock"),
        ("Agotado", "SoldOut"),
        ("Op voorraad", "InStock"),
        ("Slut i lager", "OutOfStock"),
        ("Call us", None),
    ],
)
def test_availability(written: str, expected: str | None) -> None:
    assert availability(written) == expected


def _product(**values: str) -> Product:
    return Product({name: FieldValue(value, "jsonld", 0.9) for name, value in values.items()}, 0.9)


def test_identity_prefers_the_gtin_whatever_length_it_was_written_in() -> None:
    upc = _product(name="Cola", gtin="036000291452", sku="A1", brand="Acme")
    ean = _product(name="Cola 330 ml", gtin="0036000291452")
    assert product_identity(upc, "https://a.example/x")[1] == "gtin"
    assert product_identity(upc, "https://a.example/x") == product_identity(ean, "https://b.example/y")


def test_identity_falls_back_to_brand_and_mpn_then_sku_then_url() -> None:
    assert product_identity(_product(name="Lamp", brand="Acme", mpn="M-1", sku="S"), None)[1] == "brand_mpn"
    by_sku = product_identity(_product(name="Lamp", brand="Acme", sku="S-1"), None)
    assert by_sku == product_identity(_product(name="Lamp (red)", brand="ACME", sku="s-1"), None)
    assert by_sku[1] == "brand_sku"
    no_brand = _product(name="Lamp", sku="S-1")
    tracked = product_identity(no_brand, "https://shop.example/lamp?utm_source=mail#reviews")
    assert tracked == product_identity(no_brand, "https://SHOP.example/lamp")
    assert tracked[1] == "url"
