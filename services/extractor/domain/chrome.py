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
* a banner-word element holding more than a quarter of the page's text (banners are small);
* anything, when the removals together would take away most of the page's text: then the page
  is used as it came, and trafilatura's own boilerplate rules do the work.

Also, a `<noscript>` that holds real paragraphs (a paywalled article's text, a page's no-script
rendering) is turned into a `<div>`, since the content behind a script is content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from copy import deepcopy

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
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "search"})
_LANDMARKS = "//main | //article | //h1 | //*[@role='main'] | //*[@itemprop='articleBody']"
_NOT_TEXT = frozenset({"script", "style", "template", "svg", "noscript"})
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# A banner word marks an element only while it holds at most this share of the page's text.
_BANNER_MAX_SHARE = 0.25
# Removals that would take more than this share of the page's text are all undone.
_MAX_REMOVED_SHARE = 0.5
_NOSCRIPT_MIN_PARAGRAPH_CHARS = 200


def without_chrome(tree: HtmlElement) -> HtmlElement:
    """A copy of `tree` without its page chrome, or `tree` itself when the guard (see the module
    docstring) keeps the page whole."""
    cleaned = deepcopy(tree)
    body = cleaned.find("body")
    if body is None:
        return tree
    _unwrap_content_noscripts(body)
    total = text_length(body)
    protected = _protected(cleaned)
    chrome = list(_chrome(body, protected, total))
    removed = sum(text_length(node) for node in chrome)
    if total and removed > _MAX_REMOVED_SHARE * total:
        return tree
    for node in chrome:
        _drop(node)
    return cleaned


def text_length(node: HtmlElement) -> int:
    """Characters of visible text under `node` (not scripts or styles), whitespace runs counted
    once."""
    length = 0
    stack = [node]
    while stack:
        element = stack.pop()
        length += _length(element.text)
        for child in element:
            length += _length(child.tail)
            if isinstance(child.tag, str) and child.tag not in _NOT_TEXT:
                stack.append(child)
    return length


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


def _chrome(body: HtmlElement, protected: set[HtmlElement], total: int) -> Iterator[HtmlElement]:
    """The outermost chrome elements under `body` (a removed element's descendants are not
    visited again)."""
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        if not isinstance(node.tag, str):
            continue
        if node not in protected and _is_chrome(node, total):
            yield node
            continue
        stack.extend(reversed(node))


def _is_chrome(node: HtmlElement, total: int) -> bool:
    tag = node.tag
    if tag == "nav" or node.get("role", "").lower() in _CHROME_ROLES:
        return True
    if tag in ("header", "footer") and not _inside_content(node):
        return True
    if _has_banner_word(node):
        return text_length(node) <= _BANNER_MAX_SHARE * total
    return False


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
