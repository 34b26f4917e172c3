"""Product values as shops write them, normalised: prices, currencies, GTINs, availability."""

from __future__ import annotations

import re
from decimal import Decimal

from price_parser import Price

# Symbols that name one currency; "$", "kr" and "¥" need the page's country (see `currency_of`).
_SYMBOLS = {
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "₽": "RUB",
    "₺": "TRY",
    "₩": "KRW",
    "₪": "ILS",
    "₫": "VND",
    "₱": "PHP",
    "₴": "UAH",
    "zł": "PLN",
    "kč": "CZK",
    "ft": "HUF",
    "lei": "RON",
    "r$": "BRL",
    "us$": "USD",
    "ca$": "CAD",
    "c$": "CAD",
    "a$": "AUD",
    "au$": "AUD",
    "nz$": "NZD",
    "hk$": "HKD",
    "s$": "SGD",
    "mx$": "MXN",
    "fr.": "CHF",
    "chf": "CHF",
}
# "$" by country code top-level domain (or html lang region); USD elsewhere.
_DOLLARS = {
    "ca": "CAD",
    "au": "AUD",
    "nz": "NZD",
    "hk": "HKD",
    "sg": "SGD",
    "mx": "MXN",
    "ar": "ARS",
    "cl": "CLP",
    "co": "COP",
    "tw": "TWD",
}
_KRONOR = {"se": "SEK", "dk": "DKK", "no": "NOK", "is": "ISK"}
_YEN = {"cn": "CNY", "jp": "JPY"}
_ISO_CODE = re.compile(r"^[A-Za-z]{3}$")

AVAILABILITY = (
    "InStock",
    "OutOfStock",
    "PreOrder",
    "BackOrder",
    "Discontinued",
    "LimitedAvailability",
    "InStoreOnly",
    "OnlineOnly",
    "SoldOut",
    "PreSale",
    "MadeToOrder",
)
_BY_NAME = {name.lower(): name for name in AVAILABILITY}
# Words shops print, in the common shop languages, most specific first (matched lowercase).
AVAILABILITY_WORDS: tuple[tuple[str, str], ...] = (
    ("out of stock", "OutOfStock"),
    ("sold out", "SoldOut"),
    ("currently unavailable", "OutOfStock"),
    ("not available", "OutOfStock"),
    ("nicht auf lager", "OutOfStock"),
    ("nicht lieferbar", "OutOfStock"),
    ("ausverkauft", "SoldOut"),
    ("rupture de stock", "OutOfStock"),
    ("en rupture", "OutOfStock"),
    ("épuisé", "SoldOut"),
    ("indisponible", "OutOfStock"),
    ("agotado", "SoldOut"),
    ("sin stock", "OutOfStock"),
    ("no disponible", "OutOfStock"),
    ("esaurito", "SoldOut"),
    ("non disponibile", "OutOfStock"),
    ("uitverkocht", "SoldOut"),
    ("niet op voorraad", "OutOfStock"),
    ("esgotado", "SoldOut"),
    ("indisponível", "OutOfStock"),
    ("niedostępny", "OutOfStock"),
    ("brak w magazynie", "OutOfStock"),
    ("slut i lager", "OutOfStock"),
    ("utsolgt", "SoldOut"),
    ("pre-order", "PreOrder"),
    ("preorder", "PreOrder"),
    ("vorbestellen", "PreOrder"),
    ("précommande", "PreOrder"),
    ("reserva", "PreOrder"),
    ("backorder", "BackOrder"),
    ("back order", "BackOrder"),
    ("in stock", "InStock"),
    ("auf lager", "InStock"),
    ("lieferbar", "InStock"),
    ("sofort verfügbar", "InStock"),
    ("en stock", "InStock"),
    ("disponible", "InStock"),
    ("en existencia", "InStock"),
    ("disponibile", "InStock"),
    ("op voorraad", "InStock"),
    ("em estoque", "InStock"),
    ("disponível", "InStock"),
    ("dostępny", "InStock"),
    ("w magazynie", "InStock"),
    ("i lager", "InStock"),
    ("på lager", "InStock"),
    ("available", "InStock"),
)


def decimal_text(value: object) -> str | None:
    """A price as a decimal string ("1299.00", "26.08", "45"): the number's own digits, no
    float rounding; None when there is no positive number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):  # a number in JSON: shown with cents, as prices are
        given = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not given.is_finite() or given <= 0:
            return None
        exponent = given.as_tuple().exponent
        return format(
            given.quantize(Decimal("0.01")) if isinstance(exponent, int) and exponent > -2 else given, "f"
        )
    text = str(value).strip()
    if not text:
        return None
    number: Decimal | None = None
    number = Decimal(text) if re.fullmatch(r"\d+(\.\d+)?", text) else Price.fromstring(text).amount
    if number is None:
        return None
    if number <= 0:
        return None
    return format(number, "f")


def price_and_symbol(text: str) -> tuple[str | None, str | None]:
    """A visible price ("Price: £26.08", "ab 119,01 €") and the currency sign written with it."""
    parsed = Price.fromstring(text)
    amount = decimal_text(parsed.amount) if parsed.amount is not None else None
    return amount, parsed.currency


def currency_of(sign: str | None, *, url: str | None = None, language: str | None = None) -> str | None:
    """ISO 4217 from a code or a sign; "$", "kr" and "¥" by the page's country."""
    if not sign:
        return None
    sign = sign.strip()
    if _ISO_CODE.match(sign):
        return sign.upper()
    lowered = sign.lower()
    if lowered in _SYMBOLS:
        return _SYMBOLS[lowered]
    country = _country(url, language)
    if lowered == "$":
        return _DOLLARS.get(country or "", "USD")
    if lowered in ("kr", "kr.", ":-"):
        return _KRONOR.get(country or "", "SEK")
    if lowered in ("¥", "￥", "円"):
        return _YEN.get(country or "", "JPY")
    return None


def _country(url: str | None, language: str | None) -> str | None:
    if url:
        host = re.sub(r"^[a-z]+://", "", url.lower()).split("/")[0].split(":")[0]
        suffix = host.rsplit(".", 1)[-1]
        if len(suffix) == 2:
            return suffix
    if language and "-" in language:
        return language.split("-")[-1].lower()
    return None


def gtin(value: object) -> str | None:
    """A GTIN-8/12/13/14 with a valid check digit, digits only; None otherwise."""
    digits = re.sub(r"[\s-]", "", str(value or ""))
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return None
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(body)))
    return digits if (10 - total % 10) % 10 == check else None


def gtin14(code: str) -> str:
    """The same item whatever length it was written in (UPC-12 and EAN-13 included)."""
    return code.zfill(14)


def availability(value: object) -> str | None:
    """The schema.org name of a URL, a name in any casing or spelling, or a shop's words."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    tail = re.split(r"[/#:]", text)[-1]
    key = re.sub(r"[\s_-]", "", tail).lower()
    if key in _BY_NAME:
        return _BY_NAME[key]
    return availability_in_words(text)


def availability_in_words(text: str) -> str | None:
    lowered = " ".join(text.lower().split())
    for words, name in AVAILABILITY_WORDS:
        if re.search(rf"(?<!\w){re.escape(words)}(?!\w)", lowered):
            return name
    return None


def clean_text(value: object, limit: int = 500) -> str | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = " ".join(str(value).split())
    return text[:limit] or None
