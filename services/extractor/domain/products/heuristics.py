"""A product from a shop page that declares nothing: what every product page shows a buyer.

The main heading names it; its price is the first visible price at or after the heading (an
element whose class says price, else text that reads as an amount with a currency), a struck-
out or "was" price being the regular one; availability words near it (in the common shop
languages); identifiers after their labels (SKU, Art.-Nr., Référence, EAN, UPC, GTIN, MPN);
the category from the breadcrumbs. A page is taken as a product page only with a price and at
least one more sign of one — a buy button, availability words or an identifier — and not when
it shows many prices (a listing).
"""

from __future__ import annotations

import re
from typing import Any

from services.extractor.domain.products import normalise
from services.extractor.domain.products.model import ProductDraft
from services.extractor.domain.structured import html_tree

_SOURCE = "heuristic"
_BUY_WORDS = re.compile(
    r"add to (cart|basket|bag)|buy now|in den warenkorb|jetzt kaufen|ajouter au panier|acheter|"
    r"añadir al carrito|comprar|aggiungi al carrello|acquista|in winkelwagen|bestellen|"
    r"dodaj do koszyka|kup teraz|lägg i varukorgen|köp|adicionar ao carrinho|læg i kurv",
    re.I,
)
_BUY_MARKERS = re.compile(r"add[-_]?to[-_]?(cart|basket|bag)|buy[-_]?(now|button)|addtocart|purchase", re.I)
_PRICE_MARKERS = re.compile(r"price|preis|prix|precio|prezzo|prijs|cena|pris", re.I)
_REGULAR_MARKERS = re.compile(r"old|was|regular|strike|list|compare|before|uvp|msrp|original", re.I)
_AMOUNT = re.compile(
    r"(?:[€£$¥₹]|\b(?:EUR|USD|GBP|CHF|PLN|SEK|NOK|DKK|CZK|zł|kr)\b)\s?\d[\d.,\s]{0,12}\d?"
    r"|\d[\d.,\s]{0,12}\s?(?:€|£|\$|\b(?:EUR|USD|GBP|CHF|PLN|SEK|NOK|DKK|CZK)\b|zł|kr|Kč|Ft)",
)
_IDENTIFIERS = (
    ("gtin", re.compile(r"\b(?:EAN|GTIN|UPC|ISBN)(?:-?1[34])?\s*[:#]?\s*([\d -]{8,17})", re.I)),
    ("mpn", re.compile(r"\b(?:MPN|Model(?:\s+(?:No\.?|number))?|Modell)\s*[:#]\s*([\w./-]{2,40})", re.I)),
    (
        "sku",
        re.compile(
            r"(?:\bSKU|Art(?:ikel)?\.?-?\s?Nr\.?|Artikelnummer|Référence|Réf\.|Ref\.|Referencia|"
            r"Item\s*(?:#|No\.?|number)|Product\s*code|Código|Codice|Numer katalogowy)"
            r"\s*[:#]?\s*([\w./-]{2,40})",
            re.I,
        ),
    ),
)
_MANY_PRICES = 8


def heuristic_product(html: str, *, url: str | None, language: str | None) -> ProductDraft | None:
    tree = html_tree(html)
    if tree is None:
        return None
    for junk in tree.xpath("//script|//style|//noscript|//template"):
        junk.drop_tree()
    heading = next(iter(tree.xpath("//h1")), None)
    prices = _price_elements(tree)
    if len(prices) > _MANY_PRICES:
        return None
    price, regular, sign = _price_near(tree, heading, prices)
    if price is None:
        return None
    text = _text(tree) or ""
    button = _has_buy_button(tree)
    stock = _availability(tree, text)
    identifiers = {
        name: match.group(1).strip() for name, pattern in _IDENTIFIERS if (match := pattern.search(text))
    }
    if not (button or stock or identifiers):
        return None
    draft = ProductDraft()
    name = (
        _text(heading)
        if heading is not None
        else _meta(tree, "og:title") or _text(next(iter(tree.xpath("//title")), None))
    )
    draft.offer("name", normalise.clean_text(name, 300), _SOURCE, 0.7)
    draft.offer("price", price, _SOURCE, 0.65)
    draft.offer("regular_price", regular, _SOURCE, 0.55)
    draft.offer("currency", normalise.currency_of(sign, url=url, language=language), _SOURCE, 0.6)
    draft.offer("availability", stock, _SOURCE, 0.6)
    draft.offer("gtin", normalise.gtin(identifiers.get("gtin")), _SOURCE, 0.6)
    draft.offer("sku", identifiers.get("sku"), _SOURCE, 0.6)
    draft.offer("mpn", identifiers.get("mpn"), _SOURCE, 0.5)
    draft.offer("category", _breadcrumbs(tree), _SOURCE, 0.6)
    draft.offer("description", normalise.clean_text(_meta(tree, "description"), 2000), _SOURCE, 0.5)
    image = _meta(tree, "og:image")
    draft.offer("images", [image] if image else None, _SOURCE, 0.5)
    return draft


def _price_elements(tree: Any) -> list[Any]:
    """Elements a shop marks as a price (by class, id or itemprop) that hold an amount."""
    found = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        marks = _marks(element)
        innermost = not any(_PRICE_MARKERS.search(_marks(child)) for child in element.iterchildren())
        if marks and _PRICE_MARKERS.search(marks) and innermost and _AMOUNT.search(_text(element) or ""):
            found.append(element)
    return found


def _price_near(tree: Any, heading: Any, marked: list[Any]) -> tuple[str | None, str | None, str | None]:
    """(price, regular price, currency sign) of the first prices at or after the heading."""
    ordered = list(tree.iter())
    start = ordered.index(heading) if heading is not None and heading in ordered else 0
    candidates = [element for element in marked if ordered.index(element) >= start] or marked
    if not candidates:
        candidates = [
            element
            for element in ordered[start : start + 400]
            if isinstance(element.tag, str)
            and element.tag not in ("html", "body")
            and _AMOUNT.fullmatch(_own_text(element))
        ]
    price = regular = sign = None
    priced = None
    for element in candidates[:4]:
        live, struck = _live_and_struck(element)
        if any(_is_struck(node) for node in list(element.iterancestors())[:2]):
            live, struck = "", f"{live} {struck}"
        amount, symbol = _amount_in(live)
        regular = regular or _amount_in(struck)[0]
        if price is None and amount is not None:
            price, sign, priced = amount, symbol, element
        if price is not None and regular is not None:
            break
    if priced is not None and regular is None and (box := priced.getparent()) is not None:
        regular = _amount_in(_live_and_struck(box)[1])[0]  # "was" beside the price, in its box
    if regular is not None and price is not None and float(regular) <= float(price):
        regular = None
    return price, regular, sign


def _amount_in(text: str) -> tuple[str | None, str | None]:
    match = _AMOUNT.search(text)
    return normalise.price_and_symbol(match.group(0)) if match else (None, None)


def _live_and_struck(element: Any) -> tuple[str, str]:
    """An element's text split into what a buyer pays and what is struck out or marked as a
    former price (<del>, <s>, classes such as old-price, was, uvp)."""
    live: list[str] = []
    struck: list[str] = []

    def walk(node: Any, inside_struck: bool) -> None:
        inside_struck = inside_struck or _is_struck(node)
        (struck if inside_struck else live).append(node.text or "")
        for child in node:
            if isinstance(child.tag, str):
                walk(child, inside_struck)
            (struck if inside_struck else live).append(child.tail or "")

    walk(element, False)
    return " ".join(" ".join(live).split()), " ".join(" ".join(struck).split())


def _is_struck(node: Any) -> bool:
    return node.tag in ("del", "s", "strike") or bool(_REGULAR_MARKERS.search(_marks(node)))


def _has_buy_button(tree: Any) -> bool:
    for element in tree.xpath("//button|//input[@type='submit']|//a|//form"):
        label = " ".join(filter(None, (_text(element), element.get("value"), element.get("title"))))
        if _BUY_WORDS.search(label or "") or _BUY_MARKERS.search(
            _marks(element) + " " + (element.get("action") or "")
        ):
            return True
    return False


def _availability(tree: Any, text: str) -> str | None:
    for element in tree.iter():
        if isinstance(element.tag, str) and re.search(
            r"stock|avail|lager|dispon|voorraad", _marks(element), re.I
        ):
            if found := normalise.availability_in_words(_text(element) or ""):
                return found
            if (href := element.get("href")) and (found := normalise.availability(href)):
                return found
    return normalise.availability_in_words(text[:5000])


def _breadcrumbs(tree: Any) -> str | None:
    for trail in tree.xpath(
        "//*[contains(translate(@class,'BREADCUMS','breadcums'),'breadcrumb') or "
        "contains(translate(@aria-label,'BREADCUMS','breadcums'),'breadcrumb') or "
        "contains(translate(@id,'BREADCUMS','breadcums'),'breadcrumb')]"
    ):
        names = [name for link in trail.xpath(".//a|.//li[not(.//a)]") if (name := _text(link))]
        if names:
            return " > ".join(dict.fromkeys(names))[:300]
    return None


def _meta(tree: Any, name: str) -> str | None:
    for element in tree.xpath(f"//meta[@property='{name}' or @name='{name}']"):
        if content := (element.get("content") or "").strip():
            return str(content)
    return None


def _marks(element: Any) -> str:
    return " ".join(filter(None, (element.get("class"), element.get("id"), element.get("itemprop"))))


def _text(element: Any) -> str | None:
    if element is None:
        return None
    return " ".join(" ".join(element.itertext()).split()) or None  # blocks apart, as read


def _own_text(element: Any) -> str:
    return " ".join((element.text or "").split())
