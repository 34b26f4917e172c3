"""Write the demo website into `site/` from `content.py` (run once; the output is committed).

    .venv/bin/python -m trawl.demo_site.generate

Articles (listed over two pages with a "next" link), product pages with schema.org Product
data, an about page, robots.txt, and one PDF made with fpdf2 (a dev dependency).
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from trawl.demo_site.content import (
    ARTICLES,
    PDF_FILE,
    PDF_PARAGRAPHS,
    PDF_TITLE,
    PRODUCTS,
    SITE_NAME,
)

SITE = Path(__file__).parent / "site"
ARTICLES_PER_PAGE = 8


def page(title: str, body: str, head: str = "") -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} | {SITE_NAME}</title>
<meta name="description" content="{html.escape(title)}">
{head}</head>
<body>
<header><nav><a href="/index.html">Home</a> · <a href="/articles/index.html">Articles</a> ·
<a href="/products/index.html">Shop</a> · <a href="/{PDF_FILE}">Safety guide (PDF)</a> ·
<a href="/about.html">About</a></nav></header>
<main>
<h1>{html.escape(title)}</h1>
{body}
</main>
<footer><p>{SITE_NAME}, The Quay, Saltmarsh.</p></footer>
</body>
</html>
"""


def article_pages() -> dict[str, str]:
    pages = {}
    for slug, title, date, paragraphs in ARTICLES:
        text = "\n".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs)
        pages[f"articles/{slug}.html"] = page(
            title, f"<article><p><time>{date}</time></p>\n{text}\n</article>"
        )
    listing = [ARTICLES[i : i + ARTICLES_PER_PAGE] for i in range(0, len(ARTICLES), ARTICLES_PER_PAGE)]
    for number, chunk in enumerate(listing, start=1):
        items = "\n".join(
            f'<li><a href="/articles/{slug}.html">{html.escape(title)}</a></li>' for slug, title, *_ in chunk
        )
        name = "index.html" if number == 1 else f"page-{number}.html"
        more = (
            f'<p><a rel="next" href="/articles/page-{number + 1}.html">Older articles</a></p>'
            if number < len(listing)
            else ""
        )
        pages[f"articles/{name}"] = page(f"Articles, page {number}", f"<ul>\n{items}\n</ul>\n{more}")
    return pages


def product_pages() -> dict[str, str]:
    pages = {}
    for slug, name, price, sku, description in PRODUCTS:
        data = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": name,
            "sku": sku,
            "description": description,
            "brand": {"@type": "Brand", "name": SITE_NAME},
            "offers": {
                "@type": "Offer",
                "price": f"{price:.2f}",
                "priceCurrency": "EUR",
                "availability": "https://schema.org/InStock",
            },
        }
        head = f'<script type="application/ld+json">{json.dumps(data)}</script>\n'
        body = (
            f'<div class="product"><p class="price">€{price:.2f}</p><p class="sku">SKU {sku}</p>'
            f"<p>{html.escape(description)}</p></div>"
        )
        pages[f"products/{slug}.html"] = page(name, body, head)
    items = "\n".join(
        f'<li><a href="/products/{slug}.html">{html.escape(name)}</a> €{price:.2f}</li>'
        for slug, name, price, *_ in PRODUCTS
    )
    pages["products/index.html"] = page("The Cooperative Shop", f"<ul>\n{items}\n</ul>")
    return pages


def other_pages() -> dict[str, str]:
    latest = "\n".join(
        f'<li><a href="/articles/{slug}.html">{html.escape(title)}</a></li>'
        for slug, title, *_ in ARTICLES[-4:]
    )
    return {
        "index.html": page(
            SITE_NAME,
            "<p>A fishermen's cooperative on the east coast since 1976: a fish market, a net loft, "
            f"a boatyard and a chandlery shop.</p>\n<h2>Latest articles</h2>\n<ul>\n{latest}\n</ul>",
        ),
        "about.html": page(
            "About the Cooperative",
            "<p>Twenty-three boats and their crews share the market, the yard and the ice plant. "
            "Members elect a board every spring; the harbour office is open from six in the morning "
            "until noon.</p>",
        ),
    }


def pdf() -> bytes:
    document = FPDF()
    document.set_title(PDF_TITLE)
    document.set_creation_date(datetime(2024, 1, 1, tzinfo=UTC))  # the same bytes on every run
    document.add_page()
    document.set_font("Helvetica", "B", 18)
    document.cell(0, 12, PDF_TITLE, new_x="LMARGIN", new_y="NEXT")
    document.set_font("Helvetica", size=11)
    for paragraph in PDF_PARAGRAPHS:
        document.multi_cell(0, 6, paragraph)
        document.ln(3)
    return bytes(document.output())


def main() -> None:
    pages = {**article_pages(), **product_pages(), **other_pages()}
    for name, text in pages.items():
        path = SITE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (SITE / PDF_FILE).write_bytes(pdf())
    (SITE / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    print(f"wrote {len(pages)} pages and {PDF_FILE} to {SITE}")


if __name__ == "__main__":
    main()
