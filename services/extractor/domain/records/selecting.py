"""Reading a value off the page by the annotations a schema gives its properties.

Crawl4AI's `JsonCssExtractionStrategy` and Scrapy's item loaders are the models:

- `x-trawl-selector`: a CSS selector; `x-trawl-xpath`: an XPath expression (either one);
- `x-trawl-attribute`: the attribute to read instead of the element's text (`href`, `src`,
  `content`, ...; links are made absolute);
- `x-trawl-regex`: a regular expression applied to what was read: its first group, else the
  whole match; a value it does not match is not taken;
- `x-trawl-base-selector` / `x-trawl-base-xpath`: on an object, or an array of objects, the
  element(s) its properties are read within (one object per element of an array).

Selectors inside a base are relative to it. A `<meta>` element gives its `content`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from lxml.cssselect import CSSSelector, SelectorError

SELECTOR = "x-trawl-selector"
XPATH = "x-trawl-xpath"
ATTRIBUTE = "x-trawl-attribute"
REGEX = "x-trawl-regex"
BASE_SELECTOR = "x-trawl-base-selector"
BASE_XPATH = "x-trawl-base-xpath"
_LINK_ATTRIBUTES = frozenset({"href", "src", "data-src", "srcset", "action", "poster"})
_MAX_MATCHES = 1_000


class AnnotationError(ValueError):
    """An annotation that cannot be used: a selector, XPath or regex that does not compile."""


def reads_page(spec: dict[str, Any]) -> bool:
    """Whether the property is read off the page by a selector of its own."""
    return SELECTOR in spec or XPATH in spec


def has_base(spec: dict[str, Any]) -> bool:
    return BASE_SELECTOR in spec or BASE_XPATH in spec


def bases(context: Any, spec: dict[str, Any]) -> list[Any]:
    """The elements an object's (or each array item's) properties are read within."""
    query = _query(spec.get(BASE_SELECTOR), spec.get(BASE_XPATH))
    return [found for found in _matches(query, context) if isinstance(found, etree._Element)]


def texts(context: Any, spec: dict[str, Any], base_url: str | None) -> list[str]:
    """What the property's selector finds under `context`, as text, after its regex."""
    query = _query(spec.get(SELECTOR), spec.get(XPATH))
    attribute = spec.get(ATTRIBUTE)
    pattern = _regex(spec[REGEX]) if REGEX in spec else None
    found: list[str] = []
    for match in _matches(query, context):
        text = _read(match, attribute, base_url)
        if text is None:
            continue
        if pattern is not None:
            hit = pattern.search(text)
            if hit is None:
                continue
            text = hit.group(1) if pattern.groups else hit.group(0)
        if text := " ".join(text.split()):
            found.append(text)
    return found


def problems(spec: dict[str, Any]) -> list[str]:
    """What is wrong with one property's annotations (empty when they can be used)."""
    found: list[str] = []
    for selector, xpath in ((SELECTOR, XPATH), (BASE_SELECTOR, BASE_XPATH)):
        if selector in spec and xpath in spec:
            found.append(f"give {selector} or {xpath}, not both")
        try:
            _query(spec.get(selector), spec.get(xpath))
        except AnnotationError as exc:
            found.append(str(exc))
    if REGEX in spec:
        try:
            _regex(spec[REGEX])
        except AnnotationError as exc:
            found.append(str(exc))
    if ATTRIBUTE in spec and not (isinstance(spec[ATTRIBUTE], str) and spec[ATTRIBUTE]):
        found.append(f"{ATTRIBUTE}: an attribute name")
    return found


def _query(selector: Any, xpath: Any) -> Any:
    """A compiled query (called on an element, it returns a list), or one finding nothing."""
    if selector is not None:
        return _css(selector)
    if xpath is not None:
        return _xpath(xpath)
    return _nothing


def _matches(query: Any, context: Any) -> list[Any]:
    found = query(context)
    # An XPath such as `string(...)` or `count(...)` answers one value, not a list.
    return found[:_MAX_MATCHES] if isinstance(found, list) else [found]


def _nothing(_context: Any) -> list[Any]:
    return []


@lru_cache(maxsize=512)
def _css(selector: Any) -> CSSSelector:
    if not isinstance(selector, str) or not selector.strip():
        raise AnnotationError(f"{SELECTOR}: a CSS selector")
    try:
        return CSSSelector(selector, translator="html")
    except (SelectorError, etree.XPathError) as exc:
        raise AnnotationError(f"{SELECTOR} {selector!r}: {exc}") from exc


@lru_cache(maxsize=512)
def _xpath(expression: Any) -> etree.XPath:
    if not isinstance(expression, str) or not expression.strip():
        raise AnnotationError(f"{XPATH}: an XPath expression")
    try:
        return etree.XPath(expression)
    except etree.XPathError as exc:
        raise AnnotationError(f"{XPATH} {expression!r}: {exc}") from exc


@lru_cache(maxsize=512)
def _regex(pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise AnnotationError(f"{REGEX}: a regular expression")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise AnnotationError(f"{REGEX} {pattern!r}: {exc}") from exc


def _read(match: Any, attribute: Any, base_url: str | None) -> str | None:
    if not isinstance(match, etree._Element):
        return str(match)  # an XPath that selects text or an attribute
    if isinstance(attribute, str):
        value = match.get(attribute)
        if value is not None and attribute in _LINK_ATTRIBUTES and base_url:
            value = urljoin(base_url, value.strip().split()[0]) if value.strip() else value
        return value
    if match.tag == "meta":
        return match.get("content")
    return "".join(match.itertext())
