"""What products, records and tags cost per page: the extractor with them on and off, beside
extruct alone, on the same pages in one run.

    python -m bench.product_extraction [--repeat 5]

Pages: the demo site (articles, product pages with schema.org markup, listings), the test shop's
product pages (microdata, JSON-LD, and pages with no markup at all) and the main-content
fixtures (articles, forums, docs, shops in ten languages). Each mode is timed in CPU seconds over
all pages (files already read), the best of `--repeat` interleaved runs:

- `main text`: what the extractor did before structured extraction (decode, main content);
- `+ products`: structured data and products, as every page of a job without a schema;
- `+ products, record`: a job with an extractor schema (mapped fields, a CSS annotation, a date);
- `+ products, record, tags`: everything a page of that job yields (tags: YAKE's key phrases);
- `extruct alone`: `extruct.extract(html, syntaxes=[json-ld, microdata, rdfa, opengraph])`, the
  structured data with nothing else, as a user calling it bare would.

The goal is at most 30% added per page by products and a record. Tags cost on top of that,
mostly YAKE (pure Python, about 0.1 ms a word of the text's first 2,000 characters); beside
the page's embedding (tens of milliseconds a chunk on CPU) it is small.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import extruct

from services.extractor.domain.extract import extract
from services.extractor.domain.items import ItemsPlan, RecordPlan, find_items, products_and_record
from services.extractor.domain.structured import parse_structured
from tests.sites.shop_site import PRODUCTS, product_page

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = {
    "title": "Product",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "sku": {"type": "string"},
        "price": {"type": "number"},
        "currency": {"type": "string"},
        "availability": {"type": "string"},
        "headline": {"type": "string", "x-trawl-selector": "h1"},
        "published": {"type": "string", "format": "date"},
    },
    "required": ["name", "price"],
}
Page = tuple[bytes, str]


def pages() -> list[Page]:
    found: list[Page] = []
    for path in sorted((ROOT / "trawl" / "demo_site" / "site").rglob("*.html")):
        found.append(
            (
                path.read_bytes(),
                f"http://demo.example/{path.relative_to(ROOT / 'trawl' / 'demo_site' / 'site')}",
            )
        )
    for product in PRODUCTS:
        found.append((product_page(product).encode(), f"http://shop.example/product/{product.slug}"))
    for path in sorted((ROOT / "tests" / "fixtures" / "extraction" / "pages").glob("*.html")):
        found.append((path.read_bytes(), f"https://pages.example/{path.stem}"))
    return found


def _main_text(page: Page) -> None:
    extract(page[0], "text/html", url=page[1], max_bytes=50_000_000, max_pdf_pages=500)


def _with(plan: ItemsPlan, *, tags: bool) -> Callable[[Page], None]:
    def run(page: Page) -> None:
        document = extract(page[0], "text/html", url=page[1], max_bytes=50_000_000, max_pdf_pages=500)
        if document is None:
            return
        if tags:
            find_items(document, page[1], plan)
        elif document.html is not None:
            products_and_record(document, page[1], plan, parse_structured(document.html, page[1]))

    return run


def _extruct(page: Page) -> None:
    extruct.extract(
        page[0].decode("utf-8", "replace"),
        base_url=page[1],
        syntaxes=["json-ld", "microdata", "rdfa", "opengraph"],
        uniform=True,
        errors="ignore",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    corpus = pages()
    schema_plan = ItemsPlan(
        RecordPlan(uuid4(), "1", SCHEMA, strict_validation=False, allow_extra_fields=True)
    )
    modes: dict[str, Callable[[Page], None]] = {
        "main text": _main_text,
        "+ products": _with(ItemsPlan(), tags=False),
        "+ products, record": _with(schema_plan, tags=False),
        "+ products, record, tags": _with(schema_plan, tags=True),
        "extruct alone": _extruct,
    }
    for run in modes.values():  # warm caches and imports (YAKE, dateparser, pyRdfa) once
        for page in corpus[:5]:
            run(page)
    best = dict.fromkeys(modes, float("inf"))
    for _ in range(args.repeat):
        for name, run in modes.items():
            started = time.process_time()
            for page in corpus:
                run(page)
            best[name] = min(best[name], time.process_time() - started)
    print(f"{len(corpus)} pages, best of {args.repeat} runs, CPU seconds")
    print(f"{'mode':<28}{'seconds':>9}{'pages/s':>10}{'vs main text':>14}")
    for name, seconds in best.items():
        ratio = seconds / best["main text"]
        print(f"{name:<28}{seconds:>9.3f}{len(corpus) / seconds:>10.1f}{ratio:>13.2f}x")
    added = best["+ products, record"] / best["main text"] - 1
    print(f"products and a record add {added:.0%} per page (goal: at most 30%)")


if __name__ == "__main__":
    main()
