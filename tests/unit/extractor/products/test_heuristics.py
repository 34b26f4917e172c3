"""Shop pages that declare nothing: the product a buyer sees, in several languages; pages that
are not one product's page give none."""

from __future__ import annotations

import pytest

from services.extractor.domain.products import extract_products


def _shop(body: str, lang: str) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Shop</title>'
        '<meta name="description" content="Handmade furniture and lamps."></head><body>'
        '<header><a href="/">Logo</a><form action="/search"><input name="q"></form>'
        '<a href="/cart">Cart</a></header>'
        f"<main>{body}</main><footer><p>Free shipping from 50</p><p>Newsletter</p></footer></body></html>"
    )


PAGES = {
    "en": (
        _shop(
            '<ol class="breadcrumb"><li><a href="/">Home</a></li><li><a href="/lamps">Lamps</a></li></ol>'
            '<h1>Aurora Table Lamp</h1><div class="product-info">'
            '<p class="price"><span class="sale">$89.00</span>'
            ' <s>$119.00</s></p><p class="stock in-stock">In stock, ships today</p>'
            "<p>SKU: AUR-TL-01</p><p>EAN 4006381333931</p>"
            '<form action="/cart/add"><button type="submit">Add to cart</button></form></div>'
            "<section><h2>Reviews</h2><p>Great lamp for $89, would buy again.</p></section>",
            "en-US",
        ),
        "https://lamps.example.com/aurora",
        {
            "name": "Aurora Table Lamp",
            "price": "89.00",
            "regular_price": "119.00",
            "currency": "USD",
            "availability": "InStock",
            "sku": "AUR-TL-01",
            "gtin": "4006381333931",
            "category": "Home > Lamps",
        },
    ),
    "de": (
        _shop(
            '<h1>Tischlampe Aurora</h1><div class="preis-box"><span class="preis">129,90 €</span>'
            '<span class="uvp">UVP <del>159,00 €</del></span></div><p class="lieferstatus">Auf Lager</p>'
            "<p>Art.-Nr.: TL-4711</p><button>In den Warenkorb</button>",
            "de",
        ),
        "https://lampen.example.de/aurora",
        {
            "name": "Tischlampe Aurora",
            "price": "129.90",
            "regular_price": "159.00",
            "currency": "EUR",
            "availability": "InStock",
            "sku": "TL-4711",
        },
    ),
    "fr": (
        _shop(
            "<h1>Chaise Lina en chêne</h1><p>Prix : <span class='prix'>1 089,00 €</span></p>"
            "<p>Rupture de stock</p><p>Référence : CH-22</p><button>Ajouter au panier</button>",
            "fr",
        ),
        "https://meubles.example.fr/lina",
        {
            "name": "Chaise Lina en chêne",
            "price": "1089.00",
            "currency": "EUR",
            "availability": "OutOfStock",
            "sku": "CH-22",
        },
    ),
    "es": (
        _shop(
            "<h1>Mesa de roble</h1><span class='precio'>$1.299,00</span><p>Agotado</p>"
            "<button>Añadir al carrito</button>",
            "es-MX",
        ),
        "https://tienda.example.mx/mesa",
        {"name": "Mesa de roble", "price": "1299.00", "currency": "MXN", "availability": "SoldOut"},
    ),
    "pl": (
        _shop(
            "<h1>Lampa wisząca Nord</h1><div class='cena'>249,99 zł</div><p>Dostępny</p>"
            "<button>Dodaj do koszyka</button>",
            "pl",
        ),
        "https://sklep.example.pl/nord",
        {"name": "Lampa wisząca Nord", "price": "249.99", "currency": "PLN", "availability": "InStock"},
    ),
    "it": (
        _shop(
            "<h1>Sedia Vela</h1><p class='prezzo'>€ 74,50</p><p>Disponibile</p>"
            "<button>Aggiungi al carrello</button>",
            "it",
        ),
        "https://negozio.example.it/vela",
        {"name": "Sedia Vela", "price": "74.50", "currency": "EUR", "availability": "InStock"},
    ),
}


@pytest.mark.parametrize(("html", "url", "expected"), PAGES.values(), ids=PAGES.keys())
def test_a_markup_free_product_page(html: str, url: str, expected: dict[str, str]) -> None:
    (product,) = extract_products(html, url)
    assert {name: product.value(name) for name in expected} == expected
    assert set(product.to_json()["sources"].values()) == {"heuristic"}
    assert 0.3 < product.confidence < 0.9  # guessed fields count for less than declared ones


def test_a_listing_of_many_prices_is_not_a_product() -> None:
    items = "".join(
        f"<li><a href='/p/{n}'>Lamp {n}</a> <span class='price'>€{10 + n},00</span>"
        "<button>Add to cart</button></li>"
        for n in range(12)
    )
    assert (
        extract_products(_shop(f"<h1>Lamps</h1><ul>{items}</ul>", "en"), "https://shop.example/lamps") == []
    )


def test_an_article_mentioning_prices_is_not_a_product() -> None:
    body = (
        "<article><h1>How to choose a reading lamp</h1><p>Good lamps cost from $20 to $300.</p>"
        "<p>We tested twelve of them over a month.</p></article>"
    )
    assert extract_products(_shop(body, "en"), "https://blog.example/lamps") == []


def test_declared_markup_wins_and_the_page_fills_what_it_left_out() -> None:
    jsonld = (
        '<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product",'
        ' "name": "Aurora Table Lamp",'
        ' "offers": {"@type": "Offer", "price": "85.00", "priceCurrency": "USD"}}'
        "</script>"
    )
    html = PAGES["en"][0].replace("</head>", f"{jsonld}</head>")
    (product,) = extract_products(html, "https://lamps.example.com/aurora")
    assert (product.value("price"), product.to_json()["sources"]["price"]) == ("85.00", "jsonld")
    assert (product.value("sku"), product.to_json()["sources"]["sku"]) == ("AUR-TL-01", "heuristic")
    assert product.value("availability") == "InStock"
