"""Products from what the page declares: schema.org Product items (JSON-LD, microdata, RDFa)
with their offers, brand, rating and images, breadcrumbs for the category, and OpenGraph's
`product:` tags (og:type product) as a weaker source."""

from __future__ import annotations

from typing import Any

from services.extractor.domain.products import normalise
from services.extractor.domain.products.model import ProductDraft
from services.extractor.domain.structured import StructuredData, StructuredItem

_CONFIDENCE = {"jsonld": 0.95, "microdata": 0.92, "rdfa": 0.9, "opengraph": 0.8}
_PRODUCT_TYPES = ("Product", "IndividualProduct", "ProductModel", "ProductGroup", "Vehicle", "Book")
_IN_STOCK_FIRST = ("InStock", "LimitedAvailability", "OnlineOnly", "InStoreOnly", "PreOrder", "BackOrder")


def markup_products(data: StructuredData, *, url: str | None, language: str | None) -> list[ProductDraft]:
    """One draft per declared product, in page order, duplicates of one product merged."""
    drafts: list[ProductDraft] = []
    for item in data.of_type(*_PRODUCT_TYPES):
        draft = _from_item(item, url=url, language=language)
        twin = next((known for known in drafts if _same(known, draft)), None)
        if twin is not None:
            twin.fill_from(draft)
        else:
            drafts.append(draft)
    for item in data.items:  # products listed inside an ItemList or an Offer's itemOffered
        for nested in _nested_products(item):
            draft = _from_item(nested, url=url, language=language)
            if not any(_same(known, draft) for known in drafts):
                drafts.append(draft)
    category = _breadcrumb(data)
    og = next((item for item in data.items if item.syntax == "opengraph"), None)
    if drafts:
        if category:
            drafts[0].offer("category", category, "jsonld", 0.85)
        if og is not None:
            drafts[0].fill_from(_from_opengraph(og, url=url, language=language))
    elif og is not None and str(og.properties.get("og:type", "")).lower().startswith("product"):
        drafts.append(_from_opengraph(og, url=url, language=language))
        if category:
            drafts[0].offer("category", category, "jsonld", 0.85)
    return drafts


def _from_item(item: StructuredItem, *, url: str | None, language: str | None) -> ProductDraft:
    props, source = item.properties, item.syntax
    confidence = _CONFIDENCE.get(source, 0.85)
    draft = ProductDraft()
    draft.offer("name", normalise.clean_text(_first(props.get("name")), 300), source, confidence)
    draft.offer(
        "brand", _name_of(props.get("brand")) or _name_of(props.get("manufacturer")), source, confidence
    )
    draft.offer("sku", normalise.clean_text(_first(props.get("sku")), 100), source, confidence)
    for key in ("gtin14", "gtin13", "gtin12", "gtin8", "gtin", "isbn"):
        draft.offer("gtin", normalise.gtin(_first(props.get(key))), source, confidence)
    draft.offer("mpn", normalise.clean_text(_first(props.get("mpn")), 100), source, confidence)
    offer = _best_offer(props.get("offers"))
    if offer is not None:
        price, regular = _prices(offer)
        draft.offer("price", price, source, confidence)
        draft.offer("regular_price", regular, source, confidence * 0.95)
        currency = _first(offer.get("priceCurrency")) or _spec_currency(offer)
        draft.offer(
            "currency", normalise.currency_of(currency, url=url, language=language), source, confidence
        )
        draft.offer(
            "availability", normalise.availability(_first(offer.get("availability"))), source, confidence
        )
        if "sku" not in draft.fields:
            draft.offer("sku", normalise.clean_text(_first(offer.get("sku")), 100), source, confidence * 0.9)
        if "gtin" not in draft.fields:
            for key in ("gtin14", "gtin13", "gtin12", "gtin8", "gtin"):
                draft.offer("gtin", normalise.gtin(_first(offer.get(key))), source, confidence)
    draft.offer(
        "description", normalise.clean_text(_first(props.get("description")), 2000), source, confidence
    )
    draft.offer("images", _images(props.get("image")), source, confidence)
    rating = props.get("aggregateRating")
    if isinstance(rating, list):
        rating = rating[0] if rating else None
    if isinstance(rating, dict):
        draft.offer("rating", _number(rating.get("ratingValue")), source, confidence)
        count = _number(rating.get("reviewCount")) or _number(rating.get("ratingCount"))
        draft.offer("review_count", int(count) if count is not None else None, source, confidence)
    category = props.get("category")
    draft.offer("category", _name_of(category) or normalise.clean_text(_first(category), 300), source, 0.8)
    own = _first(props.get("url"))
    draft.offer("url", own if isinstance(own, str) and own.startswith("http") else None, source, confidence)
    return draft


def _from_opengraph(item: StructuredItem, *, url: str | None, language: str | None) -> ProductDraft:
    props, confidence = item.properties, _CONFIDENCE["opengraph"]
    draft = ProductDraft()
    draft.offer("name", normalise.clean_text(props.get("og:title"), 300), "opengraph", confidence)
    amount = props.get("product:price:amount") or props.get("og:price:amount")
    draft.offer("price", normalise.decimal_text(amount), "opengraph", confidence)
    sign = props.get("product:price:currency") or props.get("og:price:currency")
    draft.offer("currency", normalise.currency_of(sign, url=url, language=language), "opengraph", confidence)
    stock = props.get("product:availability") or props.get("og:availability")
    draft.offer("availability", normalise.availability(stock), "opengraph", confidence)
    draft.offer("brand", normalise.clean_text(props.get("product:brand"), 200), "opengraph", confidence)
    draft.offer("description", normalise.clean_text(props.get("og:description"), 2000), "opengraph", 0.7)
    draft.offer("images", _images(props.get("og:image")), "opengraph", 0.7)
    draft.offer(
        "url",
        props.get("og:url") if str(props.get("og:url", "")).startswith("http") else None,
        "opengraph",
        0.7,
    )
    return draft


def _best_offer(offers: Any) -> dict[str, Any] | None:
    """The offer a shopper sees: of several, the first in stock, else the cheapest."""
    candidates: list[dict[str, Any]] = []
    for offer in offers if isinstance(offers, list) else [offers]:
        if not isinstance(offer, dict):
            continue
        nested = offer.get("offers")  # an AggregateOffer listing its offers
        if isinstance(nested, list | dict) and not offer.get("price") and not offer.get("lowPrice"):
            inner = _best_offer(nested)
            if inner is not None:
                candidates.append(inner)
            continue
        candidates.append(offer)
    if not candidates:
        return None
    for wanted in _IN_STOCK_FIRST:
        stocked = [
            offer
            for offer in candidates
            if normalise.availability(_first(offer.get("availability"))) == wanted
        ]
        if stocked and len(candidates) > 1:
            return min(stocked, key=_price_key)
    return min(candidates, key=_price_key)


def _price_key(offer: dict[str, Any]) -> float:
    price, _ = _prices(offer)
    return float(price) if price is not None else float("inf")


def _prices(offer: dict[str, Any]) -> tuple[str | None, str | None]:
    """(price, regular price): the offer's price (an AggregateOffer's lowPrice), and a list or
    strikethrough price from its price specifications when it is higher."""
    price = normalise.decimal_text(_first(offer.get("price")) or _first(offer.get("lowPrice")))
    regular = None
    for spec in _list(offer.get("priceSpecification")):
        if not isinstance(spec, dict):
            continue
        amount = normalise.decimal_text(_first(spec.get("price")))
        kind = str(_first(spec.get("priceType")) or "")
        if kind.endswith(("StrikethroughPrice", "ListPrice", "MSRP", "SRP")):
            regular = amount
        elif price is None:
            price = amount
    if regular is not None and price is not None and float(regular) <= float(price):
        regular = None
    return price, regular


def _spec_currency(offer: dict[str, Any]) -> Any:
    for spec in _list(offer.get("priceSpecification")):
        if isinstance(spec, dict) and spec.get("priceCurrency"):
            return _first(spec["priceCurrency"])
    return None


def _images(value: Any) -> list[str] | None:
    found = []
    for element in _list(value):
        if isinstance(element, dict):
            element = element.get("url") or element.get("contentUrl") or element.get("@id")
        element = _first(element)
        if isinstance(element, str) and element.strip() and element.strip() not in found:
            found.append(element.strip())
    return found[:20] or None


def _breadcrumb(data: StructuredData) -> str | None:
    for item in data.of_type("BreadcrumbList"):
        elements = [
            element for element in _list(item.properties.get("itemListElement")) if isinstance(element, dict)
        ]
        elements.sort(key=lambda element: _number(element.get("position")) or 0)
        names = [_name_of(element) or _name_of(element.get("item")) for element in elements]
        path = [name for name in names if name]
        if path:
            return " > ".join(path)
    return None


def _nested_products(item: StructuredItem) -> list[StructuredItem]:
    found = []
    for key in ("itemListElement", "itemOffered", "hasVariant", "isRelatedTo", "isSimilarTo"):
        for element in _list(item.properties.get(key)):
            if isinstance(element, dict) and isinstance(element.get("item"), dict):
                element = element["item"]
            if isinstance(element, dict) and set(_list(element.get("@type"))) & set(_PRODUCT_TYPES):
                properties = {name: value for name, value in element.items() if name != "@type"}
                found.append(StructuredItem(tuple(_list(element["@type"])), properties, item.syntax))
    return found


def _same(one: ProductDraft, other: ProductDraft) -> bool:
    for key in ("gtin", "sku", "name"):
        mine, theirs = one.fields.get(key), other.fields.get(key)
        if mine is not None and theirs is not None:
            return bool(str(mine.value).lower() == str(theirs.value).lower())
    return False


def _name_of(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = _first(value.get("name"))
    return normalise.clean_text(value, 200) if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    text = normalise.decimal_text(_first(value))
    return float(text) if text is not None else None


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
