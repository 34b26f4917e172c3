"""Which URLs a crawl queues: its seeds, and what each fetched page or sitemap leads to.

From an HTML page: its links and rel=next links one level deeper, the job's pagination (the
next button's target, or the url_pattern's next page) at the same depth, its images for image
jobs, and — on a seed, not on a search result — the host's sitemaps (those robots.txt names,
`/sitemap.xml`, and the seed's own directory's, as Hugo or GitHub Pages sites under a path
keep theirs). Links beyond the run's scope or longer than `MAX_URL_LENGTH` are dropped;
sitemaps must be on a host in scope (`options.sitemaps_outside_scope` lifts that), whatever
their path, and their pages are checked like any link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from services.crawler.domain.content import image_links
from services.crawler.domain.fetching import Fetched
from services.crawler.domain.links import decode_html, extract_links, select_href
from services.crawler.domain.pagination import template_url
from services.crawler.domain.records import LeasedUrl, NewUrl, new_url
from services.crawler.domain.run_view import RunView
from services.crawler.domain.scope import ScopePolicy
from services.crawler.domain.sitemaps import Sitemap
from services.crawler.domain.urls import url_origin
from shared.events import JobConfig, JobKind, PaginationType

MAX_URL_LENGTH = 2083  # longer links are not followed (as Scrapy's URLLENGTH_LIMIT)
SITEMAP_DEPTH = 1  # a sitemap's pages count as linked from the seed


def seeds(config: JobConfig) -> list[NewUrl]:
    """The frontier a run starts with (none for a keywords job, which fetches nothing)."""
    if config.kind is JobKind.KEYWORDS:
        return []
    found = [new_url(str(seed), depth=0) for seed in config.seeds]
    pagination = config.pagination
    if pagination.type is PaginationType.URL_PATTERN and pagination.url_template:
        # First, so that it wins over a seed naming the same URL: it carries its page number.
        first = template_url(pagination.url_template, pagination.start_page)
        found.insert(0, new_url(first, depth=0, page_number=pagination.start_page))
    return found


@dataclass(frozen=True)
class PageFindings:
    discovered: list[NewUrl]
    canonical: str | None  # the page's rel=canonical, when it names another URL in scope


def page_discoveries(
    item: LeasedUrl, view: RunView, fetched: Fetched, robots_sitemaps: Sequence[str]
) -> PageFindings:
    """What an HTML page leads to, and which URL it says it is (CPU work: parsing, run it in
    a worker thread)."""
    html = decode_html(fetched.body, fetched.content_type)
    base = fetched.final_url
    config = view.config
    scope = view.scope
    links = extract_links(html, base, follow_nofollow=config.scope.follow_nofollow)
    found = followable(links.links + links.next_links, item.depth + 1, item.url, scope)
    pagination = config.pagination
    if pagination.type is PaginationType.NEXT_BUTTON and pagination.next_selector:
        next_url = select_href(html, base, pagination.next_selector)
        if next_url:
            found += followable([next_url], item.depth, item.url, scope)
    if (
        pagination.type is PaginationType.URL_PATTERN
        and item.page_number is not None
        and pagination.url_template
    ):
        number = item.page_number + 1
        if pagination.max_page is None or number <= pagination.max_page:
            next_page = template_url(pagination.url_template, number)
            found += followable([next_page], item.depth, item.url, scope, page_number=number)
    if view.collects_images:
        images = image_links(html, base)
        alts = {image.url: image.alt for image in images}
        wanted = followable([i.url for i in images], item.depth + 1, item.url, scope, kind="image")
        found += [replace(url, provenance={"alt": alts[url.url]}) if alts[url.url] else url for url in wanted]
    is_seed = item.depth == 0 and item.discovered_from is None and item.provenance is None
    if is_seed and view.wants_sitemaps:  # a search result is a page of its site, not its seed
        found += _sitemaps(sitemap_candidates(item.url, robots_sitemaps), item, view)
    canonical = links.canonical
    in_scope = canonical is not None and scope.host_refusal(canonical, base) is None
    return PageFindings(found, canonical if in_scope and canonical != base else None)


def sitemap_candidates(seed: str, robots_sitemaps: Sequence[str]) -> list[str]:
    """Where a seed's host keeps its sitemaps: those its robots.txt names, `/sitemap.xml`, and
    `sitemap.xml` in the seed's own directory when the seed is not at the root."""
    origin = url_origin(seed)
    directory = urlsplit(seed).path.rsplit("/", 1)[0] + "/"
    candidates = [*robots_sitemaps, f"{origin}/sitemap.xml"]
    if directory != "/":
        candidates.append(f"{origin}{directory}sitemap.xml")
    return list(dict.fromkeys(candidates))


def sitemap_discoveries(item: LeasedUrl, view: RunView, sitemap: Sitemap) -> list[NewUrl]:
    """A sitemap's pages, and the further sitemaps of a sitemap index."""
    return followable(sitemap.urls, SITEMAP_DEPTH, item.url, view.scope) + _sitemaps(
        sitemap.sitemaps, item, view
    )


def _sitemaps(urls: Sequence[str], item: LeasedUrl, view: RunView) -> list[NewUrl]:
    """Sitemaps worth reading: on a host in scope, unless the job lifts that."""
    if view.sitemaps_outside_scope:
        return followable(urls, item.depth, item.url, None, kind="sitemap")
    in_scope = [url for url in urls if view.scope.host_refusal(url, item.url) is None]
    return followable(in_scope, item.depth, item.url, None, kind="sitemap")


def followable(
    urls: Sequence[str],
    depth: int,
    source: str,
    scope: ScopePolicy | None,
    *,
    kind: str = "page",
    page_number: int | None = None,
) -> list[NewUrl]:
    """The URLs found on `source` worth queueing at `depth`: none longer than MAX_URL_LENGTH,
    and (unless `scope` is None) none out of scope."""
    return [
        new_url(url, depth=depth, kind=kind, page_number=page_number, discovered_from=source)
        for url in urls
        if len(url) <= MAX_URL_LENGTH and (scope is None or scope.refusal(url, depth, source) is None)
    ]
