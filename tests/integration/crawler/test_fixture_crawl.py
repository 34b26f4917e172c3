"""A default crawl of the fixture site: the exact fetched, skipped and failed URLs, and what
was stored, published and recorded for each case."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from services.crawler.domain.urls import canonical_url
from shared.config import Settings
from shared.events import CrawlProgress, PageFetched, RunCompleted
from shared.s3 import ObjectStore
from shared.topics import topic_for
from tests.integration.crawler.conftest import (
    Crawl,
    assert_spaced,
    crawler_settings,
    running_crawler,
    start_crawl,
    wait_finished,
)
from tests.sites.fixture_site import CP1251_TEXT, IMAGES, FixtureSite
from tests.support import consume_all

pytestmark = pytest.mark.integration


@pytest.fixture
async def site() -> AsyncIterator[FixtureSite]:
    # 127.0.0.2: a redirect into 127.0.0.1 leaves both the site's host and its allowed network.
    async with FixtureSite(host="127.0.0.2") as fixture:
        yield fixture


async def test_a_default_crawl_ends_with_exactly_the_expected_outcomes(
    settings: Settings, site: FixtureSite
) -> None:
    settings = crawler_settings(settings, allowed="127.0.0.2/32")
    expected = site.expected
    fetched_before, denied_before = _fetched_2xx(), _robots_denials()
    async with running_crawler(settings) as runtime:
        assert runtime.pool is not None
        crawl = await start_crawl(settings, {"seeds": [site.url("/")], "limits": {"max_pages": 500}})
        run = await wait_finished(runtime.pool, crawl, within=120)
        rows = await runtime.pool.fetch(
            "SELECT url, kind, state, reason, attempts FROM frontier WHERE run_id = $1", crawl.run_id
        )
        pages = await runtime.pool.fetch("SELECT * FROM pages WHERE run_id = $1", crawl.run_id)
        images = await runtime.pool.fetch("SELECT * FROM images WHERE run_id = $1", crawl.run_id)

    assert run["status"] == "completed"
    documents = {canonical_url(row["url"]): row for row in rows if row["kind"] == "page"}
    outcome = {url: (row["state"], row["reason"]) for url, row in documents.items()}
    assert {url for url, (state, _) in outcome.items() if state == "fetched"} == expected.fetched
    assert {url: reason for url, (state, reason) in outcome.items() if state == "skipped"} == expected.skipped
    assert {url: reason for url, (state, reason) in outcome.items() if state == "failed"} == expected.failed
    for url in [*expected.out_of_scope, *map(canonical_url, expected.not_discovered)]:
        assert url not in outcome, f"{url} should never have been queued"

    sitemaps = {row["url"]: row["state"] for row in rows if row["kind"] == "sitemap"}
    assert {url: "fetched" for url in expected.sitemaps}.items() <= sitemaps.items()
    # robots.txt naming another host's sitemap does not take the crawl there.
    assert not set(expected.refused_sitemaps) & {canonical_url(url) for url in sitemaps}

    # Retries: 500-then-200 took two attempts; Retry-After was waited out.
    assert documents[canonical_url(site.url("/flaky"))]["attempts"] == 2
    throttled = [record.time for record in site.requests_for("/throttled")]
    assert len(throttled) == 2 and throttled[1] - throttled[0] >= 1.0
    assert len(site.requests_for("/always-500")) == 4  # the first try and max_retries=3

    # Crawl-delay 0.2s of robots.txt.
    assert_spaced([record.time for record in site.access_log if record.path != "/robots.txt"], 0.2)

    # Every fetched URL is a page row whose bytes are in S3, byte for byte as served.
    assert {canonical_url(page["url"]) for page in pages} == expected.fetched
    by_path = {page["url"].removeprefix(site.base_url): page for page in pages}
    assert by_path["/redirect/chain"]["final_url"] == site.url("/redirect/final")
    assert by_path["/docs/report.pdf"]["content_type"] == "application/pdf"
    async with ObjectStore.from_settings(settings) as objects:
        cp1251 = await objects.get(by_path["/intl/cp1251"]["s3_key"])
        pdf = await objects.get(by_path["/docs/report.pdf"]["s3_key"])
    assert CP1251_TEXT.encode("windows-1251") in cp1251
    assert pdf.startswith(b"%PDF-")
    assert all(page["s3_key"].startswith(f"tenants/{crawl.tenant_id}/raw/") for page in pages)

    assert {
        (row["url"].removeprefix(site.base_url), row["width"], row["height"], row["format"]) for row in images
    } == {(image.path, image.width, image.height, image.format.lower()) for image in IMAGES}
    assert run["pages_crawled"] == len(pages)
    # Errors (as opposed to final answers such as a 404) count and publish a TaskFailed.
    assert run["error_count"] == sum(
        1 for reason in expected.failed.values() if not reason.startswith("http_")
    )

    await _assert_published(settings, crawl, len(pages))
    # This crawl's own share of the process-wide counters: every URL fetched (pages, sitemaps,
    # images, and the duplicates, known as such only once fetched) and every one robots.txt denied.
    fetched = sum(1 for row in rows if row["state"] == "fetched" or row["reason"] == "duplicate")
    assert _fetched_2xx() - fetched_before == fetched
    assert _robots_denials() - denied_before == sum(1 for row in rows if row["reason"] == "robots") > 0


def _fetched_2xx() -> float:
    labels = {"outcome": "fetched", "status_class": "2xx"}
    return REGISTRY.get_sample_value("trawl_crawler_fetches_total", labels) or 0.0


def _robots_denials() -> float:
    return REGISTRY.get_sample_value("trawl_crawler_robots_denials_total") or 0.0


async def _assert_published(settings: Settings, crawl: Crawl, pages: int) -> None:
    fetched = await consume_all(settings, [topic_for(PageFetched, settings.topic_prefix)], expected=pages)
    assert len(fetched) == pages
    progress = await consume_all(settings, [topic_for(CrawlProgress, settings.topic_prefix)], expected=1)
    reports = [json.loads(record.value) for record in progress]
    assert reports and all(report["run_id"] == str(crawl.run_id) for report in reports)
    assert [r["pages_crawled"] for r in reports] == sorted(r["pages_crawled"] for r in reports)
    completions = await consume_all(settings, [topic_for(RunCompleted, settings.topic_prefix)], expected=1)
    completed = [json.loads(record.value) for record in completions]
    assert [c["run_id"] for c in completed] == [str(crawl.run_id)]
    assert completed[0]["counters"]["pages_published"] == pages
