import hashlib
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from services.crawler.domain import outcomes
from services.crawler.domain.content import ContentKind
from services.crawler.domain.fetching import Fetched
from services.crawler.domain.images import ImageFacts, ImageInfo
from services.crawler.domain.outcomes import Treatment, treatment
from services.crawler.domain.records import FrontierUpdate, LeasedUrl, RunCounters, new_url
from tests.unit.crawler import factories
from tests.unit.crawler.factories import JOB, RUN, TENANT, response

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PREVIOUS_HASH = "ab" * 32
PREVIOUS_KEY = "tenants/b2/raw/ab/abab"


class TopOfRange(random.Random):
    """Full jitter always drawing its upper bound, so that backoffs can be worked out by hand."""

    def uniform(self, a: float, b: float) -> float:
        return b


def leased(**overrides: Any) -> LeasedUrl:
    """A URL two links from the seed."""
    return factories.leased(**{"depth": 2, "discovered_from": "https://shop.example.com/", **overrides})


def with_previous_copy(**overrides: Any) -> LeasedUrl:
    return leased(
        previous_content_hash=PREVIOUS_HASH,
        previous_s3_key=PREVIOUS_KEY,
        previous_content_type="text/html; charset=utf-8",
        **overrides,
    )


def by_status(item: LeasedUrl, fetched: Fetched, max_retries: int = 3) -> outcomes.Outcome | None:
    return outcomes.status_outcome(item, fetched, max_retries=max_retries, now=NOW, rng=TopOfRange())


def test_not_modified_republishes_the_previous_copy() -> None:
    outcome = by_status(with_previous_copy(), response(304, b"", etag='"v2"'))
    assert outcome is not None
    assert (outcome.state, outcome.status_code, outcome.reason) == ("fetched", 304, "unchanged")
    assert outcome.bytes == 0
    assert outcome.page is not None
    assert outcome.page.unchanged
    assert (outcome.page.content_hash, outcome.page.s3_key) == (PREVIOUS_HASH, PREVIOUS_KEY)
    assert outcome.page.content_type == "text/html; charset=utf-8"  # a 304 carries none
    assert outcome.page.etag == '"v2"'
    assert outcome.page.final_url == "https://shop.example.com/list/"
    assert outcome.error is None


def test_not_modified_without_a_previous_copy_is_an_http_failure() -> None:
    outcome = by_status(leased(), response(304, b""))
    assert outcome is not None
    assert (outcome.state, outcome.reason, outcome.error, outcome.end_pattern) == (
        "failed",
        "http_304",
        None,
        False,
    )


def test_a_final_http_error_ends_a_url_pattern_and_is_not_reported() -> None:
    outcome = by_status(leased(page_number=4), response(404))
    assert outcome is not None
    assert (outcome.state, outcome.status_code, outcome.reason) == ("failed", 404, "http_404")
    assert outcome.end_pattern
    assert outcome.error is None
    assert outcome.page is None


def test_retry_after_in_seconds_sets_the_retry() -> None:
    outcome = by_status(leased(attempts=1), response(503, retry_after="120"))
    assert outcome is not None
    assert (outcome.state, outcome.status_code, outcome.reason, outcome.retry_in) == (
        "queued",
        503,
        "HTTP 503",
        120.0,
    )
    assert outcome.error is None


def test_retry_after_as_a_date_counts_from_now() -> None:
    outcome = by_status(leased(), response(429, retry_after="Thu, 01 Jan 2026 00:00:30 GMT"))
    assert outcome is not None
    assert (outcome.state, outcome.retry_in) == ("queued", 30.0)


def test_without_retry_after_the_backoff_doubles_per_attempt_up_to_the_cap() -> None:
    second = by_status(leased(attempts=1), response(500))
    assert second is not None and second.retry_in == 2.0  # attempt 2: up to 1 s * 2
    sixth = by_status(leased(attempts=5), response(502), max_retries=10)
    assert sixth is not None and sixth.retry_in == 32.0  # attempt 6: up to 1 s * 2**5
    eleventh = by_status(leased(attempts=10), response(500), max_retries=20)
    assert eleventh is not None and eleventh.retry_in == 300.0  # 1024 s, capped


def test_the_last_retry_spent_is_a_reported_failure() -> None:
    outcome = by_status(leased(attempts=3), response(500))
    assert outcome is not None
    assert (outcome.state, outcome.status_code, outcome.reason, outcome.error) == (
        "failed",
        500,
        "retries_exhausted",
        "HTTP 500",
    )
    assert outcome.retry_in is None


def test_a_retry_reason_is_cut_to_500_characters() -> None:
    outcome = outcomes.retry_or_fail(leased(), "x" * 900, None, max_retries=3, rng=TopOfRange())
    assert outcome.state == "queued"
    assert outcome.reason == "x" * 500
    assert outcome.retry_in == 1.0  # attempt 1: up to 1 s


def test_a_success_leaves_the_body_to_look_at() -> None:
    assert by_status(with_previous_copy(), response(200)) is None
    assert by_status(leased(), response(204, b"")) is None


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(429, "7", 7.0), (503, "7", 7.0), (500, "7", None), (503, None, None), (503, "soon", None)],
)
def test_only_429_and_503_with_retry_after_push_the_host_back(
    status: int, retry_after: str | None, expected: float | None
) -> None:
    headers = {} if retry_after is None else {"retry_after": retry_after}
    assert outcomes.host_push_back(response(status, **headers), NOW) == expected


@pytest.mark.parametrize(
    ("item_kind", "body_kind", "expected"),
    [
        ("sitemap", ContentKind.XML, Treatment.SITEMAP),
        ("sitemap", ContentKind.HTML, Treatment.SITEMAP),  # a sitemap URL is read as one
        ("image", ContentKind.HTML, Treatment.IMAGE),  # inspected: turns out not an image
        ("page", ContentKind.IMAGE, Treatment.IMAGE),
        ("page", ContentKind.HTML, Treatment.PAGE),
        ("page", ContentKind.PDF, Treatment.PAGE),
        ("page", ContentKind.JSON, Treatment.PAGE),
        ("page", ContentKind.OTHER, Treatment.NOT_STORED),
    ],
)
def test_treatment(item_kind: str, body_kind: ContentKind, expected: Treatment) -> None:
    assert treatment(item_kind, body_kind) is expected


def test_content_no_job_keeps_is_skipped_with_its_kind() -> None:
    outcome = outcomes.not_stored(leased(), response(200, b"\x00" * 40), ContentKind.OTHER)
    assert (outcome.state, outcome.reason, outcome.bytes) == ("skipped", "content_type:other", 40)


def test_the_same_bytes_as_the_previous_fetch_are_unchanged() -> None:
    fetched = response(200, b"<html>same</html>", content_type="text/html")
    same = outcomes.same_as_before(with_previous_copy(), fetched, PREVIOUS_HASH)
    assert same is not None
    assert (same.state, same.reason, same.bytes) == ("fetched", "unchanged", 0)
    assert same.page is not None
    assert (same.page.s3_key, same.page.content_type, same.page.bytes) == (PREVIOUS_KEY, "text/html", 17)
    assert outcomes.same_as_before(with_previous_copy(), fetched, "ef" * 32) is None
    no_copy = leased(previous_content_hash=PREVIOUS_HASH)  # no stored copy to point at
    assert outcomes.same_as_before(no_copy, fetched, PREVIOUS_HASH) is None


def test_a_stored_page_points_at_its_object_and_carries_what_it_found() -> None:
    fetched = response(200, b"<html>new</html>", etag='"v1"', last_modified="Wed, 31 Dec 2025 10:00:00 GMT")
    outcome = outcomes.stored_page(leased(), fetched, "ef" * 32, "tenants/b2/raw/ef/efef", discovered=())
    assert (outcome.state, outcome.status_code, outcome.bytes, outcome.reason) == ("fetched", 200, 16, None)
    page = outcome.page
    assert page is not None
    assert (page.run_id, page.tenant_id, page.job_id) == (RUN, TENANT, JOB)
    assert (page.url, page.final_url, page.depth) == (
        "https://shop.example.com/list",
        "https://shop.example.com/list/",
        2,
    )
    assert (page.etag, page.last_modified) == ('"v1"', "Wed, 31 Dec 2025 10:00:00 GMT")
    assert (page.s3_key, page.bytes, page.unchanged) == ("tenants/b2/raw/ef/efef", 16, False)


def test_a_page_is_known_by_its_final_url_and_its_canonical() -> None:
    fetched = response(200, b"<html>docs</html>")  # fetched as https://shop.example.com/list/
    canonical = "https://shop.example.com/list/?sort=new"
    page = outcomes.stored_page(leased(), fetched, "ab" * 32, "k", discovered=(), canonical=canonical).page
    assert page is not None
    # The frontier's hashes: sha256 of the w3lib-canonical URL.
    assert page.final_url_hash == hashlib.sha256(b"https://shop.example.com/list/").hexdigest()
    assert page.canonical_hash == hashlib.sha256(b"https://shop.example.com/list/?sort=new").hexdigest()
    plain = outcomes.stored_page(leased(), fetched, "ab" * 32, "k", discovered=()).page
    assert plain is not None and plain.canonical_hash is None


def test_a_duplicate_is_skipped_and_announced_to_nobody_but_its_links_count() -> None:
    found = [new_url("https://shop.example.com/a", depth=3), new_url("https://shop.example.com/b", depth=3)]
    stored = outcomes.stored_page(leased(), response(200, b"x" * 40), "cd" * 32, "k", discovered=found)
    twin = outcomes.duplicate(stored)
    assert (twin.state, twin.reason, twin.status_code, twin.bytes) == ("skipped", "duplicate", 200, 40)
    assert twin.page is None and twin.error is None
    assert twin.discovered == found


def test_a_repeated_pattern_page_ends_the_pattern() -> None:
    outcome = outcomes.repeated_page(leased(page_number=5), response(200))
    assert (outcome.state, outcome.reason, outcome.end_pattern, outcome.page) == (
        "skipped",
        "pagination_repeat",
        True,
        None,
    )


def test_images_are_recorded_whether_kept_or_not() -> None:
    image_item = leased(kind="image", url="https://shop.example.com/i.png")
    body = b"\x89PNG" + b"\x00" * 96
    unreadable = outcomes.skipped_image(image_item, response(200, body), None, "not_an_image")
    assert unreadable.image is not None
    assert (unreadable.state, unreadable.reason, unreadable.bytes) == ("skipped", "not_an_image", 100)
    assert (unreadable.image.width, unreadable.image.format, unreadable.image.s3_key) == (None, None, None)
    assert unreadable.image.page_url == "https://shop.example.com/"

    info = ImageInfo(width=640, height=480, format="png")
    small = outcomes.skipped_image(image_item, response(200, body), info, "too_small")
    assert small.image is not None
    assert (small.image.width, small.image.height, small.image.skipped) == (640, 480, "too_small")
    assert small.page is None

    facts = ImageFacts(info, exif_orientation=6, phash=-42, pixel_stddev=31.5)
    stored = outcomes.StoredImage(facts, "12" * 32, "tenants/b2/raw/12/1212", "tenants/b2/thumbnails/12")
    kept = outcomes.stored_image(image_item, response(200, body), stored)
    assert kept.image is not None and kept.page is not None
    assert (kept.state, kept.bytes) == ("fetched", 100)
    assert (kept.image.s3_key, kept.image.skipped) == ("tenants/b2/raw/12/1212", None)
    assert (kept.image.phash, kept.image.exif_orientation) == (-42, 6)
    assert kept.image.thumbnail_key == "tenants/b2/thumbnails/12"
    assert kept.page.s3_key == "tenants/b2/raw/12/1212"


def test_counters_of_a_batch() -> None:
    stored = outcomes.stored_page(leased(depth=3), response(200, b"x" * 100), "01" * 32, "k1", discovered=())
    unchanged = outcomes.same_as_before(with_previous_copy(depth=1), response(200, b"y" * 10), PREVIOUS_HASH)
    assert unchanged is not None
    reported = outcomes.failed(leased(), "connection", None, error="connection: refused")
    http_error = outcomes.failed(leased(), "http_404", 404)
    denied = outcomes.robots_denied(leased())
    image = outcomes.stored_image(
        leased(kind="image", depth=4),
        response(200, b"z" * 50),
        outcomes.StoredImage(ImageFacts(ImageInfo(10, 10, "png")), "02" * 32, "k2", None),
    )
    sitemap = outcomes.bad_sitemap(leased(kind="sitemap"), response(200, b"<urlset"))
    retry = outcomes.retry_or_fail(leased(), "timeout", None, max_retries=3, rng=TopOfRange())
    counted = outcomes.counters([stored, unchanged, reported, http_error, denied, image, sitemap, retry])
    assert counted == RunCounters(
        pages_crawled=2,  # stored and unchanged; the image's page row is not a page
        pages_failed=2,  # the reported failure and the 404; not the sitemap
        pages_skipped=1,
        pages_unchanged=1,
        images_stored=1,
        bytes_fetched=150,  # 100 + 50: unchanged pages count no bytes
        error_count=1,
        max_depth_seen=4,
    )
    assert outcomes.counters([]) == RunCounters()


def test_frontier_update_of_an_outcome() -> None:
    retry = outcomes.retry_or_fail(leased(attempts=1), "HTTP 500", 500, max_retries=3, rng=TopOfRange())
    assert outcomes.frontier_update(retry) == FrontierUpdate(7, "queued", 500, "HTTP 500", 2.0)
    denied = outcomes.robots_denied(leased())
    assert outcomes.frontier_update(denied) == FrontierUpdate(7, "skipped", None, "robots", None)
