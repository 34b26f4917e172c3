"""A page's structured data — JSON-LD, microdata, RDFa, OpenGraph — as one list of items.

extruct reads each syntax; the page is parsed once and each extractor runs only when the page
can hold its syntax. JSON-LD blocks extruct cannot parse (the malformed markup shops publish:
trailing commas, CDATA wrappers, comments, raw newlines and control characters in strings,
HTML entities, several objects in one block) are repaired here and parsed again, so one bad
block costs only itself. Every item becomes a `StructuredItem`: its schema.org types without
the vocabulary URL, its properties as plain values (nested items as dicts with an "@type").
"""

from __future__ import annotations

import html as html_entities
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import lxml.html
from extruct.opengraph import OpenGraphExtractor
from extruct.rdfa import RDFaExtractor
from extruct.uniform import _umicrodata_microformat
from extruct.utils import parse_xmldom_html
from extruct.w3cmicrodata import MicrodataExtractor
from lxml import etree

_VOCABULARIES = re.compile(r"^https?://(www\.)?(schema\.org|data-vocabulary\.org)/", re.I)
_JSONLD_SCRIPT = re.compile(
    r"<script[^>]+type\s*=\s*[\"']?application/ld\+json[\"']?[^>]*>(.*?)</script\s*>", re.I | re.S
)


@dataclass(frozen=True)
class StructuredItem:
    types: tuple[str, ...]
    properties: dict[str, Any]
    syntax: str  # "jsonld" | "microdata" | "rdfa" | "opengraph"


@dataclass(frozen=True)
class StructuredData:
    items: tuple[StructuredItem, ...] = ()

    def of_type(self, *names: str) -> list[StructuredItem]:
        wanted = {name.lower() for name in names}
        return [item for item in self.items if wanted & {kind.lower() for kind in item.types}]

    @property
    def types(self) -> frozenset[str]:
        found: set[str] = set()
        for item in self.items:
            found.update(item.types)
            found.update(_nested_types(item.properties))
        return frozenset(found)


def parse_structured(html: str, url: str | None) -> StructuredData:
    """Every item the page declares; never raises on malformed markup."""
    items = [*_jsonld_items(html)]
    lowered = html.lower()
    needs_tree = "itemscope" in lowered or "og:" in lowered or "product:" in lowered
    rdfa = "typeof=" in lowered and ("vocab=" in lowered or "prefix=" in lowered)
    if rdfa:
        items += _rdfa_items(html, url)
    if needs_tree:
        tree = html_tree(html)
        if tree is None:
            return StructuredData(tuple(items))
        if "itemscope" in lowered:
            items += _microdata_items(tree, url)
        if "og:" in lowered or "product:" in lowered:
            items += _opengraph_items(tree, url)
    return StructuredData(tuple(items))


def html_tree(html: str) -> Any:
    """The page as an lxml tree (None when there is nothing to parse)."""
    try:
        return lxml.html.fromstring(html)
    except ValueError:  # a string with an XML encoding declaration: parse its UTF-8 bytes
        return lxml.html.fromstring(html.encode("utf-8"), parser=_UTF8)
    except etree.ParserError:
        return None


_UTF8 = lxml.html.HTMLParser(encoding="utf-8")


# --- JSON-LD ----------------------------------------------------------------------------------


def _jsonld_items(html: str) -> Iterator[StructuredItem]:
    for match in _JSONLD_SCRIPT.finditer(html):
        for value in _parse_jsonld(match.group(1)):
            for node in _flatten_graph(value):
                if (item := _item(node, "jsonld")) is not None:
                    yield item


def _parse_jsonld(text: str) -> list[Any]:
    """The JSON values of one script block, repaired as far as needed."""
    text = text.strip()
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    repaired = _repair(text)
    try:
        return [json.loads(repaired)]
    except ValueError:
        return _several(repaired)


def _repair(text: str) -> str:
    text = re.sub(r"^\s*(<!\[CDATA\[|/\*\s*<!\[CDATA\[\s*\*/|<!--)", "", text)
    text = re.sub(r"(\]\]>|/\*\s*\]\]>\s*\*/|-->)\s*$", "", text)
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)  # line comments
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    if "&quot;" in text or "&#" in text or "&amp;" in text:
        text = html_entities.unescape(text)
    text = _escape_inside_strings(text)
    return re.sub(r",\s*([}\]])", r"\1", text)  # trailing commas


def _escape_inside_strings(text: str) -> str:
    """Raw newlines, tabs and control characters inside strings escaped, and quotes that do not
    end a string (the next non-space character is not , : } ]) escaped too."""
    out: list[str] = []
    in_string = escaped = False
    for index, char in enumerate(text):
        if not in_string:
            in_string = char == '"'
            out.append(char)
            continue
        if escaped:
            escaped = False
            out.append(char)
        elif char == "\\":
            escaped = True
            out.append(char)
        elif char == '"':
            following = text[index + 1 :].lstrip()[:1]
            if following and following not in ",:}]":
                out.append('\\"')
            else:
                in_string = False
                out.append(char)
        elif char < " ":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, " "))
        else:
            out.append(char)
    return "".join(out)


def _several(text: str) -> list[Any]:
    """Objects written one after another in one block."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    position = 0
    while position < len(text):
        start = text.find("{", position)
        if start < 0:
            break
        try:
            value, position = decoder.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        values.append(value)
    return values


def _flatten_graph(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for element in value:
            yield from _flatten_graph(element)
    elif isinstance(value, dict):
        graph = value.get("@graph")
        if isinstance(graph, list):
            yield from _flatten_graph(graph)
        if "@type" in value:
            yield value


# --- microdata, OpenGraph, RDFa -------------------------------------------------------------


def _microdata_items(tree: Any, url: str | None) -> list[StructuredItem]:
    try:
        raw = MicrodataExtractor().extract_items(tree, url)
        found = _umicrodata_microformat(list(raw), schema_context="http://schema.org")
    except Exception:  # extruct on broken markup: the page simply has no microdata for us
        return []
    return [item for node in found if (item := _item(node, "microdata")) is not None]


def _opengraph_items(tree: Any, url: str | None) -> list[StructuredItem]:
    try:
        found = list(OpenGraphExtractor().extract_items(tree, url))
    except Exception:
        return []
    properties: dict[str, Any] = {}
    for block in found:
        for name, value in block.get("properties", []):
            properties.setdefault(name, value)
    if not properties:
        return []
    kind = str(properties.get("og:type", "")).split(".")[0].title() or "Thing"
    return [StructuredItem((kind,), properties, "opengraph")]


def _rdfa_items(html: str, url: str | None) -> list[StructuredItem]:
    """RDFa nodes (pyRdfa needs its own DOM), nested nodes inlined where they are referenced;
    the nodes only referenced by others are not items of their own."""
    try:
        document = parse_xmldom_html(html.encode("utf-8"), encoding="utf-8")
        found = RDFaExtractor().extract_items(document, base_url=url)
    except Exception:
        return []
    nodes = {node["@id"]: node for node in found if isinstance(node, dict) and "@id" in node}
    referenced = {
        value["@id"]
        for node in found
        for name, values in node.items()
        if not name.startswith("@") and isinstance(values, list)
        for value in values
        if isinstance(value, dict) and "@id" in value
    }
    items = []
    for node in found:
        types = _types(node.get("@type"))
        if types and node.get("@id") not in referenced:
            items.append(StructuredItem(types, _rdfa_properties(node, nodes, depth=0), "rdfa"))
    return items


def _rdfa_properties(node: dict[str, Any], nodes: dict[str, Any], depth: int) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, values in node.items():
        if name.startswith("@") or not isinstance(values, list):
            continue
        plain: list[Any] = []
        for value in values:
            target = nodes.get(str(value["@id"])) if isinstance(value, dict) and "@id" in value else None
            if isinstance(target, dict) and depth < 3:
                plain.append(
                    {"@type": list(_types(target.get("@type")))} | _rdfa_properties(target, nodes, depth + 1)
                )
            elif isinstance(value, dict):
                plain.append(value.get("@value", value.get("@id")))
            else:
                plain.append(value)
        properties[_short(name)] = plain[0] if len(plain) == 1 else plain
    return properties


# --- shared -----------------------------------------------------------------------------------


def _item(node: dict[str, Any], syntax: str) -> StructuredItem | None:
    types = _types(node.get("@type"))
    if not types:
        return None
    properties = {_short(name): _plain(value) for name, value in node.items() if not name.startswith("@")}
    return StructuredItem(types, properties, syntax)


def _types(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    return tuple(_short(kind) for kind in values if isinstance(kind, str) and kind.strip())


def _short(name: str) -> str:
    return _VOCABULARIES.sub("", name.strip()).removeprefix("schema:")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            ("@type" if name == "@type" else _short(name)): (
                list(_types(inner)) if name == "@type" else _plain(inner)
            )
            for name, inner in value.items()
            if name == "@type" or not name.startswith("@") or name in ("@id", "@value")
        }
    if isinstance(value, list):
        return [_plain(element) for element in value]
    return value


def _nested_types(properties: dict[str, Any]) -> Iterator[str]:
    for value in properties.values():
        for element in value if isinstance(value, list) else [value]:
            if isinstance(element, dict):
                kinds = element.get("@type")
                yield from kinds if isinstance(kinds, list) else ([kinds] if isinstance(kinds, str) else [])
                yield from _nested_types(element)
