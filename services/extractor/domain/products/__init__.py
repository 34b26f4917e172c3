"""Products found on a page (seed 000): declared markup first, then what the page shows.

Every field is normalised (prices as decimal strings, ISO 4217 currencies, check-digit-verified
GTINs, schema.org availability names) and keeps its source and confidence. The identity rule
(`product_identity`): the strongest identifier present — a GTIN (as GTIN-14, so the same item
written as UPC-12 or EAN-13 matches), else brand + MPN, else brand + SKU, else the product's
canonical URL (its own `url`, else the page's, without fragment or tracking parameters).
"""

from __future__ import annotations

import hashlib

from w3lib.url import canonicalize_url, url_query_cleaner

from services.extractor.domain.products.heuristics import heuristic_product
from services.extractor.domain.products.markup import markup_products
from services.extractor.domain.products.model import FIELDS, FieldValue, Product
from services.extractor.domain.products.normalise import gtin14
from services.extractor.domain.structured import StructuredData, parse_structured

__all__ = ["FIELDS", "FieldValue", "Product", "extract_products", "product_identity"]

# The fields of an offer the page's visible text could add to its markup.
_OFFER = ("name", "price", "currency", "availability", "sku")
# Query parameters that only say where a visitor came from.
_TRACKING = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid", "ref")


def extract_products(html: str, url: str | None, structured: StructuredData | None = None) -> list[Product]:
    """The page's products, its main product first; [] when it is not a product page."""
    data = structured if structured is not None else parse_structured(html, url)
    language = _language(html)
    drafts = markup_products(data, url=url, language=language)
    # What the page shows only fills what the markup left out: a complete offer needs no second look.
    complete = bool(drafts) and all(name in drafts[0].fields for name in _OFFER)
    visible = None if complete else heuristic_product(html, url=url, language=language)
    if drafts and visible is not None:
        drafts[0].fill_from(visible)  # a price, stock or SKU the markup left out
    elif visible is not None:
        drafts = [visible]
    products = [product for index, draft in enumerate(drafts) if (product := draft.finish(main=index == 0))]
    if products and not products[0].main:
        products[0] = Product(products[0].fields, products[0].confidence, main=True)
    return products


def product_identity(product: Product, page_url: str | None) -> tuple[str, str]:
    """(product_hash, basis): basis is gtin, brand_mpn, brand_sku or url."""
    brand = _key(product.value("brand"))
    if code := product.value("gtin"):
        basis, value = "gtin", gtin14(str(code))
    elif brand and (mpn := _key(product.value("mpn"))):
        basis, value = "brand_mpn", f"{brand}|{mpn}"
    elif brand and (sku := _key(product.value("sku"))):
        basis, value = "brand_sku", f"{brand}|{sku}"
    else:
        basis, value = "url", _canonical(product.value("url") or page_url or "", product)
    return hashlib.sha256(f"{basis}:{value}".encode()).hexdigest(), basis


def _canonical(url: str, product: Product) -> str:
    if not url:  # an upload: nothing but the product itself to tell it apart
        return f"name:{_key(product.value('name'))}|sku:{_key(product.value('sku'))}"
    cleaned = url_query_cleaner(url, _TRACKING, remove=True)
    return canonicalize_url(cleaned).lower()


def _key(value: object) -> str:
    return " ".join(str(value).split()).lower() if value else ""


def _language(html: str) -> str | None:
    start = html[:4096].lower()
    marker = start.find(" lang=")
    if marker < 0:
        return None
    value = start[marker + 6 :].lstrip("\"'").split('"')[0].split("'")[0].split(">")[0].strip()
    return value or None
