"""A page's title, author, date, description, site name, language and canonical URL, from what
the page declares about itself: `<meta>` tags (Open Graph, article:*, Dublin Core, name=...),
JSON-LD, `<link rel=canonical>`, `<time>`, `<title>` and `<h1>`.

Only declared values: no guessing dates from the URL or the text (htmldate's extensive search
costs more than the whole main-content extraction, and a wrong date is worse than none).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from lxml.html import HtmlElement

_TITLE_KEYS = ("og:title", "twitter:title")
_AUTHOR_KEYS = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")
_DATE_KEYS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "pubdate",
    "publish-date",
    "sailthru.date",
    "parsely-pub-date",
)
_DESCRIPTION_KEYS = ("description", "og:description", "twitter:description")
_SITE_KEYS = ("og:site_name", "application-name")
_LANGUAGE_KEYS = ("content-language", "og:locale", "dc.language")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# "Headline | Site", "Headline - Site", "Site: Headline" ...
_TITLE_SEPARATORS = re.compile("\\s+[|\\-\u2013\u2014\u00b7\u2022:\u00bb]\\s+")


def page_metadata(tree: HtmlElement, url: str | None) -> tuple[str, dict[str, Any]]:
    """The page's title and its other metadata (only the fields found)."""
    meta = _meta_values(tree)
    linked = _json_ld(tree)
    found: dict[str, Any] = {}
    if author := _first(meta, _AUTHOR_KEYS, linked.get("author")):
        found["author"] = author
    date = _first(meta, _DATE_KEYS, linked.get("date")) or _time_element(tree)
    if date and (day := _DATE.search(date)):
        found["date"] = "-".join(day.groups())
    if description := _first(meta, _DESCRIPTION_KEYS):
        found["description"] = description
    if sitename := _first(meta, _SITE_KEYS, linked.get("publisher")):
        found["sitename"] = sitename
    if language := (tree.get("lang") or _first(meta, _LANGUAGE_KEYS)):
        found["language"] = language.strip().lower().replace("_", "-")
    canonical = _canonical(tree) or meta.get("og:url")
    if canonical:
        found["canonical_url"] = canonical
    if hostname := urlsplit(canonical or url or "").hostname:
        found["hostname"] = hostname
    title = _first(meta, _TITLE_KEYS, linked.get("headline")) or _heading_or_title(tree)
    return title, found


def _meta_values(tree: HtmlElement) -> dict[str, str]:
    values: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop")
        key = key or element.get("http-equiv")
        content = element.get("content")
        if key and content and content.strip():
            values.setdefault(key.strip().lower(), " ".join(content.split()))
    return values


def _first(values: dict[str, str], keys: tuple[str, ...], fallback: str | None = None) -> str | None:
    for key in keys:
        value = values.get(key)
        if value and not value.startswith(("http://", "https://")):
            return value
    return fallback


def _json_ld(tree: HtmlElement) -> dict[str, str]:
    """headline, author, date and publisher of the first JSON-LD object that has any of them."""
    for script in tree.iter("script"):
        if script.get("type", "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        for item in _objects(data):
            found = {
                "headline": _name(item.get("headline")),
                "author": _name(item.get("author")),
                "date": _name(item.get("datePublished")),
                "publisher": _name(item.get("publisher")),
            }
            if any(found.values()):
                return {key: value for key, value in found.items() if value}
    return {}


def _objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _objects(item)
    elif isinstance(data, dict):
        yield data
        yield from _objects(data.get("@graph"))


def _name(value: Any) -> str | None:
    """A string, or the name of a Person/Organization, or the first of a list of them."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def _time_element(tree: HtmlElement) -> str | None:
    for element in tree.iter("time"):
        if (stamp := element.get("datetime")) and _DATE.search(stamp):
            return stamp
    return None


def _canonical(tree: HtmlElement) -> str | None:
    for element in tree.iter("link"):
        if "canonical" in element.get("rel", "").lower().split() and (href := element.get("href")):
            return href.strip()
    return None


def _heading_or_title(tree: HtmlElement) -> str:
    """The page's single `<h1>`, else the longest part of its `<title>` (site names are short)."""
    headings = [" ".join(h1.text_content().split()) for h1 in tree.iter("h1")]
    if len(headings) == 1 and headings[0]:
        return headings[0]
    title = tree.find(".//title")
    text = " ".join(title.text_content().split()) if title is not None else ""
    return max(_TITLE_SEPARATORS.split(text), key=len) if text else ""
