from typing import Any

from services.crawler.domain.discovery import (
    MAX_URL_LENGTH,
    page_discoveries,
    seeds,
    sitemap_candidates,
    sitemap_discoveries,
)
from services.crawler.domain.fetching import Fetched
from services.crawler.domain.records import LeasedUrl, NewUrl
from services.crawler.domain.run_view import RunView
from services.crawler.domain.sitemaps import Sitemap
from shared.events import JobConfig
from tests.unit.crawler.factories import SEED, leased, response, run_view

LONG = "https://shop.example.com/" + "q" * MAX_URL_LENGTH
PAGE = f"""<html><head><link rel="next" href="/list?page=2"></head><body>
<a href="item-a">A</a>
<a href="https://other.org/x">elsewhere</a>
<a href="/b#reviews">B</a>
<a href="item-a">A again</a>
<a rel="nofollow" href="/hidden">not followed</a>
<a href="{LONG}">too long</a>
<a class="next" href="/list?p=2">Next</a>
<img src="/img/1.png"><img src="data:image/gif;base64,R0lGOD">
</body></html>"""


def view(**config: Any) -> RunView:
    return run_view(JobConfig.model_validate({"seeds": [SEED], **config}))


def fetched(html: str = PAGE) -> Fetched:
    # Redirected to the directory form: relative links resolve against where the page is.
    return response(200, html.encode(), content_type="text/html; charset=utf-8")


def _found(item: LeasedUrl, run: RunView, page: Fetched, robots_sitemaps: list[str]) -> list[NewUrl]:
    return page_discoveries(item, run, page, robots_sitemaps).discovered


def summary(found: list[NewUrl]) -> list[tuple[str, int, str, int | None]]:
    return [(url.url, url.depth, url.kind, url.page_number) for url in found]


def test_a_seed_page_leads_to_its_links_and_the_host_sitemaps_in_scope() -> None:
    robots_sitemaps = [
        "https://shop.example.com/sitemaps/main.xml",
        "https://cdn.other.org/sitemap-index.xml",
    ]
    found = _found(leased(), view(), fetched(), robots_sitemaps)
    assert summary(found) == [
        ("https://shop.example.com/list/item-a", 1, "page", None),
        ("https://shop.example.com/b", 1, "page", None),
        ("https://shop.example.com/list?p=2", 1, "page", None),
        ("https://shop.example.com/list?page=2", 1, "page", None),  # link rel=next
        # robots.txt naming another host's sitemap does not send the crawl there.
        ("https://shop.example.com/sitemaps/main.xml", 0, "sitemap", None),
        ("https://shop.example.com/sitemap.xml", 0, "sitemap", None),
    ]
    assert {url.discovered_from for url in found} == {SEED}
    assert found[0].host == "shop.example.com"


def test_only_a_seed_looks_for_sitemaps_and_only_when_the_job_wants_them() -> None:
    linked = leased(discovered_from="https://shop.example.com/")
    assert all(url.kind == "page" for url in _found(linked, view(), fetched(), []))
    deeper = leased(depth=1)
    assert all(url.kind == "page" for url in _found(deeper, view(), fetched(), []))
    no_sitemaps = view(options={"sitemaps": False})
    assert all(url.kind == "page" for url in _found(leased(), no_sitemaps, fetched(), []))


def test_links_beyond_max_depth_are_dropped_but_the_next_button_stays_at_its_depth() -> None:
    config = {"limits": {"max_depth": 2}, "pagination": {"type": "next_button", "next_selector": "a.next"}}
    found = _found(leased(depth=2), view(**config), fetched(), [])
    assert summary(found) == [("https://shop.example.com/list?p=2", 2, "page", None)]


def test_the_next_button_is_queued_at_the_same_depth_after_the_links() -> None:
    config = {"pagination": {"type": "next_button", "next_selector": "a.next"}}
    found = _found(leased(depth=1), view(**config), fetched(), [])
    assert summary(found)[-1] == ("https://shop.example.com/list?p=2", 1, "page", None)
    assert len(found) == 5  # the four links at depth 2, then the button


def test_a_url_pattern_page_leads_to_the_next_page_until_max_page() -> None:
    pattern = {
        "pagination": {
            "type": "url_pattern",
            "url_template": "https://shop.example.com/list?page={page}",
            "start_page": 1,
            "max_page": 3,
        }
    }
    second = _found(leased(depth=1, page_number=2), view(**pattern), fetched(), [])
    assert summary(second)[-1] == ("https://shop.example.com/list?page=3", 1, "page", 3)
    last = _found(leased(depth=1, page_number=3), view(**pattern), fetched(), [])
    assert all(url.page_number is None for url in last)
    not_a_pattern_page = _found(leased(depth=1), view(**pattern), fetched(), [])
    assert all(url.page_number is None for url in not_a_pattern_page)


def test_an_image_job_also_queues_the_page_images() -> None:
    found = _found(leased(depth=1), view(kind="images"), fetched(), [])
    assert summary(found)[-1] == ("https://shop.example.com/img/1.png", 2, "image", None)
    assert [url.kind for url in found].count("image") == 1  # the data: URL is no link


def test_scope_patterns_filter_links() -> None:
    scoped = view(scope={"exclude_patterns": [r"\?p="]})
    found = _found(leased(depth=1), scoped, fetched(), [])
    assert [url.url for url in found] == [
        "https://shop.example.com/list/item-a",
        "https://shop.example.com/b",
        "https://shop.example.com/list?page=2",
    ]


def test_a_sitemap_leads_to_pages_in_scope_and_to_further_sitemaps_in_scope() -> None:
    sitemap = Sitemap(
        urls=["https://shop.example.com/p/1", "https://other.org/p/2", LONG],
        sitemaps=["https://cdn.other.org/sitemap-2.xml", "https://shop.example.com/sitemap-3.xml"],
    )
    index = leased(url="https://shop.example.com/sitemap.xml", kind="sitemap", discovered_from=SEED)
    found = sitemap_discoveries(index, view(), sitemap)
    assert summary(found) == [
        ("https://shop.example.com/p/1", 1, "page", None),
        ("https://shop.example.com/sitemap-3.xml", 0, "sitemap", None),
    ]
    anywhere = sitemap_discoveries(index, view(options={"sitemaps_outside_scope": True}), sitemap)
    assert [url.url for url in anywhere if url.kind == "sitemap"] == [
        "https://cdn.other.org/sitemap-2.xml",
        "https://shop.example.com/sitemap-3.xml",
    ]
    assert {url.discovered_from for url in found} == {"https://shop.example.com/sitemap.xml"}


def test_sitemaps_are_looked_for_at_the_root_and_in_the_seed_directory() -> None:
    assert sitemap_candidates("https://user.github.io/blog/", []) == [
        "https://user.github.io/sitemap.xml",
        "https://user.github.io/blog/sitemap.xml",
    ]
    assert sitemap_candidates("https://example.com/docs/guide/intro.html", ["https://example.com/s.xml"]) == [
        "https://example.com/s.xml",
        "https://example.com/sitemap.xml",
        "https://example.com/docs/guide/sitemap.xml",
    ]
    assert sitemap_candidates("https://example.com/", []) == ["https://example.com/sitemap.xml"]
    assert sitemap_candidates("https://example.com", ["https://example.com/sitemap.xml"]) == [
        "https://example.com/sitemap.xml"
    ]


def test_a_page_says_which_url_it_is_by_its_canonical_link() -> None:
    page = PAGE.replace("<head>", '<head><link rel="canonical" href="/list/?sort=new">')
    assert (
        page_discoveries(leased(), view(), fetched(page), []).canonical
        == "https://shop.example.com/list/?sort=new"
    )
    off_site = PAGE.replace("<head>", '<head><link rel="canonical" href="https://mirror.other.org/list/">')
    assert page_discoveries(leased(), view(), fetched(off_site), []).canonical is None
    assert page_discoveries(leased(), view(), fetched(), []).canonical is None


def test_seeds_start_with_the_first_pattern_page() -> None:
    config = JobConfig.model_validate(
        {
            "seeds": ["https://shop.example.com/", "https://shop.example.com/list?page=2"],
            "pagination": {
                "type": "url_pattern",
                "url_template": "https://shop.example.com/list?page={page}",
                "start_page": 2,
            },
        }
    )
    assert summary(seeds(config)) == [
        ("https://shop.example.com/list?page=2", 0, "page", 2),
        ("https://shop.example.com/", 0, "page", None),
        ("https://shop.example.com/list?page=2", 0, "page", None),
    ]
    assert seeds(config)[1].discovered_from is None


def test_a_keywords_job_has_no_seeds_to_fetch() -> None:
    config = JobConfig.model_validate({"kind": "keywords", "keywords": ["trawl"], "seeds": [SEED]})
    assert seeds(config) == []
