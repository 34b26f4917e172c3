"""The causes of issue 10, each on a page of the evaluation set (tests/fixtures/extraction)
whose gold text a person wrote: whole pages lost to the chrome filter, crashes on `<html>`,
paywall stubs, and mojibake."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml.html import document_fromstring

from services.extractor.domain.chrome import remove_chrome
from services.extractor.domain.extract import extract

FIXTURES = Path(__file__).parents[2] / "fixtures" / "extraction"
LIMITS = {"max_bytes": 5_000_000, "max_pdf_pages": 50}


def _page(name: str) -> bytes:
    return (FIXTURES / "pages" / f"{name}.html").read_bytes()


def _gold_lines(name: str) -> list[str]:
    return [line for line in (FIXTURES / "gold" / f"{name}.txt").read_text().splitlines() if line]


def _text(name: str, content_type: str = "text/html") -> str:
    document = extract(_page(name), content_type, url=f"https://pages.example/{name}", **LIMITS)
    assert document is not None
    return document.text


@pytest.mark.parametrize(
    "name",
    [
        "en-cookie-notset-wp",  # <body class="... cookies-not-set">
        "en-cookie-body-wp",  # the same, with a cookie-law bar
        "en-cookie-bucket",  # <body class="f_bucketcookies_on article">
        "en-cookie-html-news",  # <html class="... mm-use-consent-management-enabled">
        "de-blog-balkon",
        "fr-news-vendanges",  # <html class="js cookies-consent-required">
    ],
)
def test_a_cookie_or_consent_class_on_html_or_body_does_not_cost_the_page(name: str) -> None:
    text = _text(name)
    for line in _gold_lines(name):
        assert line in text


def test_the_consent_banner_itself_is_left_out() -> None:
    text = _text("en-cookie-html-news")
    assert "842 partners use cookies" not in text
    assert "Accept all" not in text


def test_a_paywall_stub_yields_the_article_not_the_reprint_links() -> None:
    text = _text("en-paywall-stub-reprints")
    gold = _gold_lines("en-paywall-stub-reprints")
    assert all(line in text for line in gold)
    assert "Order Reprints" not in text and "Print Article" not in text


def test_paywalled_text_in_noscript_and_hidden_blocks_is_the_article() -> None:
    for name in ("en-paywall-noscript", "fr-paywall-noscript", "en-paywall-hidden"):
        text = _text(name)
        assert all(line in text for line in _gold_lines(name)), name


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("ru-news-mislabelled", "text/html"),  # UTF-8 bytes, <meta charset="windows-1251">
        ("ru-news-mislabelled", "text/html; charset=windows-1251"),  # and a wrong header too
        ("zh-news-gaotie", "text/html"),  # UTF-8 bytes, <meta charset="gb2312">
        ("ru-news-metro", "text/html"),  # real windows-1251 bytes
        ("ru-blog-pohod", "text/html; charset=windows-1251"),
        ("ja-news-shinkansen", "text/html"),  # real Shift_JIS bytes
        ("zh-docs-gbk", "text/html"),  # real GBK bytes
    ],
)
def test_pages_decode_to_their_own_text_without_replacement_characters(name: str, content_type: str) -> None:
    text = _text(name, content_type)
    assert "\ufffd" not in text
    assert _gold_lines(name)[0] in text


def test_chrome_removal_never_removes_the_root_or_the_body() -> None:
    tree = document_fromstring(
        '<html class="consent-pending cookie-wall"><body class="cookies-not-set gdpr">'
        '<div class="cookie-banner">We use cookies. <button>Accept</button></div>'
        '<nav><a href="/">Home</a> <a href="/news">News</a></nav>'
        "<div class='wrap'><p>The ferry timetable changes on Monday, with two extra sailings.</p>"
        "<p>Tickets bought before the change remain valid for a month.</p></div></body></html>"
    )
    remove_chrome(tree)
    assert tree.find("body") is not None
    text = tree.text_content()
    assert "ferry timetable changes on Monday" in text
    assert "We use cookies" not in text and "Home" not in text


def test_a_banner_word_is_matched_as_a_whole_word_and_never_on_the_content() -> None:
    tree = document_fromstring(
        "<html><body>"
        '<div id="CybotCookiebotDialog">Cookie settings for this site.</div>'
        '<div class="cookiepolicy-page">'  # not a whole word: stays
        "<p>Our cookie policy explains the three kinds of cookies this site sets.</p></div>"
        '<div class="consent-wrapper"><h1>Consent forms</h1>'  # holds the <h1>: content
        "<p>Every volunteer signs a consent form before their first shift at the harbour.</p></div>"
        "</body></html>"
    )
    remove_chrome(tree)
    text = tree.text_content()
    assert "Cookie settings" not in text
    assert "three kinds of cookies" in text
    assert "Every volunteer signs a consent form" in text


def test_when_chrome_would_be_most_of_the_page_the_page_is_kept_whole() -> None:
    article = "<p>Short note: the quay is closed on Sunday.</p>"
    menu = "".join(f"<li><a href='/{i}'>Section number {i}</a></li>" for i in range(40))
    tree = document_fromstring(f"<html><body><nav><ul>{menu}</ul></nav>{article}</body></html>")
    remove_chrome(tree)
    assert "Section number 39" in tree.text_content()


def test_content_in_a_noscript_becomes_part_of_the_page() -> None:
    paragraph = "The council will publish the full report, with every figure, in the spring. " * 4
    tree = document_fromstring(
        f"<html><body><noscript><p>{paragraph}</p></noscript>"
        "<noscript><img src='/pixel.gif'></noscript></body></html>"
    )
    remove_chrome(tree)
    assert [element.tag for element in tree.find("body")] == ["div", "noscript"]
