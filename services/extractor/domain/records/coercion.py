"""Values as the schema types them: numbers from "£51.77" or "1.299,00 €", booleans from words,
dates from what pages print, enums matched loosely, schema.org URLs to their names.

`coerce` answers the value and whether it fitted; a value that does not fit is kept as found so
validation can say what was wrong with it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import dateparser

from services.extractor.domain.products.normalise import decimal_text

_SCHEMA_ORG = re.compile(r"^https?://(www\.)?schema\.org/", re.I)
_TRUE = frozenset(
    ["true", "yes", "y", "1", "on", "ja", "oui", "si", "sí", "sim", "vero", "instock", "available"]
)
_PLAIN_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?")
_FALSE = frozenset(["false", "no", "n", "0", "off", "nein", "non", "outofstock", "unavailable", "soldout"])


def schema_types(spec: dict[str, Any]) -> list[str]:
    """The JSON types a schema allows, `null` last ("string" when it says nothing)."""
    declared = spec.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    if not types:
        types = ["object"] if "properties" in spec else ["array"] if "items" in spec else ["string"]
    return sorted(types, key=lambda kind: kind == "null")


def coerce(value: Any, spec: dict[str, Any], *, language: str | None = None) -> tuple[Any, bool]:
    """The value as the (sub)schema types it, and whether it fitted."""
    types = schema_types(spec)
    kind = types[0]
    if kind == "array":
        listed = value if isinstance(value, list) else [value]
        items = spec.get("items")
        item_spec: dict[str, Any] = items if isinstance(items, dict) else {}
        results = [coerce(item, item_spec, language=language) for item in listed if item is not None]
        return [item for item, _ in results], all(fitted for _, fitted in results)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None, "null" in types
    if kind == "object":
        return (value, True) if isinstance(value, dict) else (value, False)
    if isinstance(value, dict):  # a nested item where a plain value is wanted: its name
        value = next((value[key] for key in ("name", "@value", "value", "url", "@id") if key in value), value)
        if isinstance(value, dict):
            return value, False
    if isinstance(enum := spec.get("enum"), list):
        return _enum(value, enum)
    if kind in ("number", "integer"):
        return _number(value, integer=kind == "integer")
    if kind == "boolean":
        return _boolean(value)
    if kind == "string":
        return _string(value, spec.get("format"), language)
    return value, True


def _enum(value: Any, allowed: list[Any]) -> tuple[Any, bool]:
    if value in allowed:
        return value, True
    wanted = _loose(value)
    for option in allowed:
        if _loose(option) == wanted:
            return option, True
    return value, False


def _loose(value: Any) -> str:
    return re.sub(r"[^0-9a-z]", "", _SCHEMA_ORG.sub("", str(value)).lower())


def _number(value: Any, *, integer: bool) -> tuple[Any, bool]:
    if isinstance(value, bool):
        return value, False
    if isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        stripped = str(value).strip()
        text = stripped if _PLAIN_NUMBER.fullmatch(stripped) else decimal_text(stripped)
        if text is None:
            return value, False
        try:
            number = Decimal(text)
        except InvalidOperation:
            return value, False
    if integer:
        if number != number.to_integral_value():
            return value, False
        return int(number), True
    return float(number), True


def _boolean(value: Any) -> tuple[Any, bool]:
    if isinstance(value, bool):
        return value, True
    word = _loose(value)
    if word in _TRUE:
        return True, True
    if word in _FALSE:
        return False, True
    return value, False


def _string(value: Any, format_: Any, language: str | None) -> tuple[Any, bool]:
    if isinstance(value, bool):
        return str(value).lower(), True
    text = " ".join(str(value).split())
    if format_ in ("date", "date-time"):
        moment = _moment(text, language)
        if moment is None:
            return text, False
        if format_ == "date":
            return moment.date().isoformat(), True
        return moment.isoformat(), True
    if _SCHEMA_ORG.match(text) and "/" not in _SCHEMA_ORG.sub("", text):
        return _SCHEMA_ORG.sub("", text), True  # https://schema.org/InStock → InStock
    return text, True


def _moment(text: str, language: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        return datetime.combine(date.fromisoformat(text[:10]), datetime.min.time())
    except ValueError:
        pass
    languages = [language.split("-")[0]] if language else None
    settings = {"REQUIRE_PARTS": ["year", "month", "day"], "PREFER_DAY_OF_MONTH": "first"}
    try:
        parsed: datetime | None = dateparser.parse(text[:100], languages=languages, settings=settings)
    except (ValueError, TypeError, OverflowError):
        return None
    return parsed
