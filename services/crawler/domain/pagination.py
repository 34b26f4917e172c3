"""Pagination of a scrape job (seed 001 pagination_type).

`url_pattern` pages are known up front: `page_urls` lists them from start_page to max_page
and the crawler stops early when a page 404s or repeats an earlier page's content.
`next_button` pages are found one at a time with `links.select_href(html, url, selector)`.
"""

from __future__ import annotations

from urllib.parse import urljoin

from shared.events import Pagination, PaginationType

PAGE_PLACEHOLDER = "{page}"
MAX_PATTERN_PAGES = 10_000  # an open-ended pattern (no max_page) stops here at the latest


def template_url(template: str, page: int) -> str:
    return template.replace(PAGE_PLACEHOLDER, str(page))


def page_urls(pagination: Pagination, seed: str) -> list[str]:
    """The absolute URLs of a url_pattern pagination (a relative template resolves against
    `seed`); empty for the other types."""
    if pagination.type is not PaginationType.URL_PATTERN or pagination.url_template is None:
        return []
    last = pagination.start_page + MAX_PATTERN_PAGES - 1
    if pagination.max_page is not None:
        last = min(last, pagination.max_page)
    return [
        urljoin(seed, template_url(pagination.url_template, page))
        for page in range(pagination.start_page, last + 1)
    ]
