"""Page chrome (menus, the site's header and footer, cookie and consent banners) removed from a
parsed page before its main content is looked for.

An element is chrome by what it *is*, never by a substring of a class: a `<nav>`, a landmark role
(navigation, banner, contentinfo, search), a `<header>` or `<footer>` that belongs to the page
rather than to an article, or an element whose id or class has a banner word (`cookie`,
`consent`, `gdpr`, `cmp`, ...) as a whole word ("cookie-banner" and "CybotCookiebotDialog" are
banners; "cookies-not-set" on a wrapper with the article inside is not, because of the rules
below). What is never removed, whatever it looks like:

* `<html>`, `<body>`, and any element that contains the page's content landmarks (`<main>`,
  `<article>`, `role=main`, `itemprop=articleBody`, the `<h1>`);
* a header, footer or banner holding more than a quarter of the page's text: those are small
  parts of a page, so such an element is a mislabelled wrapper (menus are exempt: a docs
  site's navigation can outweigh a short page);
* anything, when the removals together would take away most (four fifths) of the page's
  text: then the page is used as it came, and trafilatura's own boilerplate rules do the work.
  (Short pages are often half menu and footer, so "half" would be too eager.)

Also, a `<noscript>` that holds real paragraphs (a paywalled article's text, a page's no-script
rendering) is turned into a `<div>`, since the content behind a script is content.
"""

from __future__ import annotations

import re

from lxml.etree import XPath
from lxml.html import HtmlElement

_BANNER_WORDS = frozenset(
    {
        "cookie",
        "cookies",
        "cookiebot",
        "cookiebanner",
        "cookieconsent",
        "cookielaw",
        "consent",
        "gdpr",
        "cmp",
        "onetrust",
        "cookiefirst",
        "usercentrics",
        "didomi",
        "truste",
    }
)
_MENU_ROLES = frozenset({"navigation", "search"})
_LANDMARK_ROLES = frozenset({"banner", "contentinfo"})
_LANDMARKS = "//main | //article | //h1 | //*[@role='main'] | //*[@itemprop='articleBody']"
# Elements that may be chrome, found by libxml2 (a walk in Python costs more than extraction on
# big pages); `_is_chrome` decides (substrings here, whole words there).
_CANDIDATES = XPath(
    ".//nav | .//header | .//footer"
    " | .//*[@role='navigation' or @role='banner' or @role='contentinfo' or @role='search']"
    " | .//*[re:test(concat(@id, ' ', @class), '" + "|".join(sorted(_BANNER_WORDS)) + "', 'i')]",
    namespaces={"re": "http://exslt.org/regular-expressions"},
)
# Scripts and styles are no text; trafilatura drops them too, so they go first (JSON-LD stays:
# it carries the metadata and a paywalled page's articleBody).
_NOT_TEXT_XPATH = XPath(".//style | .//template | .//script[not(contains(@type, 'ld+json'))]")
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# A header, footer or banner is chrome only while it holds at most this share of the page's text.
_CHROME_MAX_SHARE = 0.25
# Removals that would take more than this share of the page's text are all undone.
_MAX_REMOVED_SHARE = 0.8
_NOSCRIPT_MIN_PARAGRAPH_CHARS = 200


def remove_chrome(tree: HtmlElement) -> int:
    """Remove the page chrome from `tree` in place, unless the guard (see the module docstring)
    keeps the page whole; the characters of text the page has left."""
    body = tree.find("body")
    if body is None:
        return text_length(tree)
    for element in _NOT_TEXT_XPATH(tree):
        _drop(element)
    _unwrap_content_noscripts(body)
    total = text_length(body)
    protected = _protected(tree)
    chrome: list[HtmlElement] = []
    chosen: set[HtmlElement] = set()
    for node in _CANDIDATES(body):  # document order: ancestors come first
        if node in protected or any(ancestor in chosen for ancestor in node.iterancestors()):
            continue
        if _is_chrome(node, total):
            chrome.append(node)
            chosen.add(node)
    lengths = [text_length(node) for node in chrome]
    if sum(lengths) > _MAX_REMOVED_SHARE * total:
        return total
    for node in chrome:
        _drop(node)
    return total - sum(lengths)


def text_length(node: HtmlElement) -> int:
    """Characters of text under `node`, whitespace runs counted once (JSON-LD not counted)."""
    length = len(" ".join(" ".join(node.itertext()).split()))
    for script in node.iter("script"):
        length -= _length(script.text)
    return max(length, 0)


def _length(text: str | None) -> int:
    return len(" ".join(text.split())) if text else 0


def _protected(tree: HtmlElement) -> set[HtmlElement]:
    """The root, the body and every ancestor-or-self of a content landmark."""
    landmarks: list[HtmlElement] = tree.xpath(_LANDMARKS)
    protected = {tree}
    for landmark in landmarks:
        protected.update(landmark.iterancestors())
        protected.add(landmark)
    if (body := tree.find("body")) is not None:
        protected.add(body)
    return protected


def _is_chrome(node: HtmlElement, total: int) -> bool:
    if node.tag == "nav" or node.get("role") in _MENU_ROLES:
        return True
    looks_like_chrome = (
        node.get("role") in _LANDMARK_ROLES
        or (node.tag in ("header", "footer") and not _inside_content(node))
        or _has_banner_word(node)
    )
    return looks_like_chrome and text_length(node) <= _CHROME_MAX_SHARE * total


def _inside_content(node: HtmlElement) -> bool:
    """Whether a header or footer belongs to an article or section, not to the page."""
    return any(ancestor.tag in ("article", "main", "section") for ancestor in node.iterancestors())


def _has_banner_word(node: HtmlElement) -> bool:
    names = f"{node.get('id', '')} {node.get('class', '')}"
    return any(word.lower() in _BANNER_WORDS for word in _WORD_SPLIT.split(names) if word)


def _unwrap_content_noscripts(body: HtmlElement) -> None:
    for noscript in list(body.iter("noscript")):
        paragraphs = sum(_length(paragraph.text_content()) for paragraph in noscript.iter("p"))
        if paragraphs >= _NOSCRIPT_MIN_PARAGRAPH_CHARS:
            noscript.tag = "div"


def _drop(node: HtmlElement) -> None:
    """Remove `node` but keep its tail, which is text of the parent."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)
