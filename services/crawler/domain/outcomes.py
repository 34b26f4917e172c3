"""What a fetch comes to: the outcome of one leased URL, and the rules that decide it.

An outcome is the frontier state the URL moves to (fetched, skipped, failed, queued again
for a retry, or released unfetched) with what was found on the way: the page or image row,
newly discovered URLs, the facts of a failure worth reporting. The committer writes many at
once and builds their events (PageFetched for each page row, TaskFailed for each reported
failure), so nothing here needs to know whose service it is.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.crawler.domain.content import STORED_KINDS, ContentKind
from services.crawler.domain.fetching import Fetched
from services.crawler.domain.images import ImageFacts, ImageInfo
from services.crawler.domain.politeness import backoff_delay, is_retryable_status, parse_retry_after
from services.crawler.domain.records import (
    FrontierUpdate,
    ImageRow,
    LeasedUrl,
    NewUrl,
    PageRow,
    RunCounters,
)
from services.crawler.domain.urls import url_hash

RETRY_BASE_SECONDS = 1.0
RETRY_CAP_SECONDS = 300.0
MAX_REASON_CHARS = 500
PUSH_BACK_STATUSES = frozenset({429, 503})  # "slow down": the whole host waits, not just the URL


@dataclass(frozen=True)
class Outcome:
    """Everything one fetch task found, committed later with many others."""

    item: LeasedUrl
    state: str  # fetched | skipped | failed | queued (retry) | released (never fetched)
    status_code: int | None = None
    reason: str | None = None
    retry_in: float | None = None
    error: str | None = None  # set: a failure reported as TaskFailed and counted as an error
    page: PageRow | None = None
    image: ImageRow | None = None
    discovered: Sequence[NewUrl] = ()
    end_pattern: bool = False  # url_pattern pagination ends at this page
    bytes: int = 0


class Treatment(StrEnum):
    """What is done with a successful response's body."""

    SITEMAP = "sitemap"  # parsed for more URLs
    IMAGE = "image"  # inspected, kept within the job's image limits
    PAGE = "page"  # stored, and parsed for links when HTML
    NOT_STORED = "not_stored"  # a kind of content no job keeps


def treatment(item_kind: str, body_kind: ContentKind) -> Treatment:
    if item_kind == "sitemap":
        return Treatment.SITEMAP
    if item_kind == "image" or body_kind is ContentKind.IMAGE:
        return Treatment.IMAGE
    return Treatment.PAGE if body_kind in STORED_KINDS else Treatment.NOT_STORED


# --- no body to look at ----------------------------------------------------------------------


def released(item: LeasedUrl) -> Outcome:
    """Not fetched (its run was cancelled): the lease goes back untouched."""
    return Outcome(item, "released")


def robots_denied(item: LeasedUrl) -> Outcome:
    return Outcome(item, "skipped", reason="robots")


def failed(item: LeasedUrl, reason: str, status: int | None, *, error: str | None = None) -> Outcome:
    """A URL that will not be fetched, recorded with its reason. An `error` (as opposed to a
    final answer such as a 404) is also reported and counted in error_count."""
    return Outcome(item, "failed", status, reason=reason, error=error)


def retry_or_fail(
    item: LeasedUrl,
    error: str,
    status: int | None,
    *,
    max_retries: int,
    rng: random.Random,
    retry_after: float | None = None,
) -> Outcome:
    """Queued again after the server's Retry-After, else after a jittered exponential backoff;
    failed once the run's retries are spent."""
    attempt = item.attempts + 1
    if attempt > max_retries:
        return failed(item, "retries_exhausted", status, error=error)
    delay = (
        retry_after
        if retry_after is not None
        else backoff_delay(attempt, base=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS, rng=rng)
    )
    return Outcome(item, "queued", status, reason=error[:MAX_REASON_CHARS], retry_in=delay)


def status_outcome(
    item: LeasedUrl, fetched: Fetched, *, max_retries: int, now: datetime, rng: random.Random
) -> Outcome | None:
    """The outcome the status alone decides (not modified, worth a retry, an HTTP error); None
    when the body is to be looked at. `now` must be timezone-aware."""
    status = fetched.status
    if status == 304 and item.previous_s3_key and item.previous_content_hash:
        return unchanged(item, fetched, item.previous_content_hash, item.previous_s3_key)
    if is_retryable_status(status):
        retry_after = parse_retry_after(fetched.headers.get("retry-after"), now)
        return retry_or_fail(
            item, f"HTTP {status}", status, max_retries=max_retries, rng=rng, retry_after=retry_after
        )
    if status >= 300:
        return replace(failed(item, f"http_{status}", status), end_pattern=item.page_number is not None)
    return None


def host_push_back(fetched: Fetched, now: datetime) -> float | None:
    """Seconds the host asked everyone to wait (429/503 with Retry-After), or None."""
    if fetched.status not in PUSH_BACK_STATUSES:
        return None
    return parse_retry_after(fetched.headers.get("retry-after"), now)


# --- pages -----------------------------------------------------------------------------------


def not_stored(item: LeasedUrl, fetched: Fetched, body_kind: ContentKind) -> Outcome:
    reason = f"content_type:{body_kind.value}"
    return Outcome(item, "skipped", fetched.status, reason=reason, bytes=len(fetched.body))


def same_as_before(
    item: LeasedUrl, fetched: Fetched, content_hash: str, discovered: Sequence[NewUrl] = ()
) -> Outcome | None:
    """Unchanged when the job's previous fetch stored these very bytes; None otherwise."""
    if item.previous_content_hash != content_hash or not item.previous_s3_key:
        return None
    return unchanged(item, fetched, content_hash, item.previous_s3_key, discovered)


def unchanged(
    item: LeasedUrl, fetched: Fetched, content_hash: str, key: str, discovered: Sequence[NewUrl] = ()
) -> Outcome:
    """A page as the job's previous run stored it: published again, pointing at that copy, and
    its links followed as they were (this run's pages are those the links lead to)."""
    content_type = fetched.content_type or item.previous_content_type or ""
    page = replace(_page_row(item, fetched, content_hash, key, unchanged=True), content_type=content_type)
    return Outcome(item, "fetched", fetched.status, reason="unchanged", page=page, discovered=discovered)


def repeated_page(item: LeasedUrl, fetched: Fetched) -> Outcome:
    """A url_pattern page with the content of an earlier page of the run: the pattern is over."""
    return Outcome(item, "skipped", fetched.status, reason="pagination_repeat", end_pattern=True)


def stored_page(
    item: LeasedUrl,
    fetched: Fetched,
    content_hash: str,
    key: str,
    discovered: Sequence[NewUrl],
    canonical: str | None = None,
) -> Outcome:
    return Outcome(
        item,
        "fetched",
        fetched.status,
        page=_page_row(item, fetched, content_hash, key, unchanged=False, canonical=canonical),
        discovered=discovered,
        bytes=len(fetched.body),
    )


def duplicate(outcome: Outcome) -> Outcome:
    """A page whose final URL (or canonical) another page of the run was fetched as: recorded
    as skipped, announced to nobody, so it is indexed once. What it links to still counts."""
    return Outcome(
        outcome.item,
        "skipped",
        outcome.status_code,
        reason="duplicate",
        discovered=outcome.discovered,
        bytes=outcome.bytes,
    )


def read_sitemap(item: LeasedUrl, fetched: Fetched, discovered: Sequence[NewUrl]) -> Outcome:
    return Outcome(item, "fetched", fetched.status, discovered=discovered, bytes=len(fetched.body))


def bad_sitemap(item: LeasedUrl, fetched: Fetched) -> Outcome:
    return failed(item, "bad_sitemap", fetched.status)


# --- images ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredImage:
    """Where an image's bytes and thumbnail went, and what decoding it found."""

    facts: ImageFacts
    content_hash: str
    key: str
    thumbnail_key: str | None


def skipped_image(item: LeasedUrl, fetched: Fetched, info: ImageInfo | None, reason: str) -> Outcome:
    """Recorded with what is known of it (nothing, when the bytes are not an image), not kept."""
    image = _image_row(item, fetched, ImageFacts(info), None, skipped=reason)
    return Outcome(item, "skipped", fetched.status, reason=reason, image=image, bytes=len(fetched.body))


def stored_image(item: LeasedUrl, fetched: Fetched, stored: StoredImage) -> Outcome:
    """Kept, and published as a page like any other stored content."""
    return Outcome(
        item,
        "fetched",
        fetched.status,
        image=_image_row(item, fetched, stored.facts, stored, skipped=None),
        page=_page_row(item, fetched, stored.content_hash, stored.key, unchanged=False),
        bytes=len(fetched.body),
    )


# --- what a batch of outcomes writes ---------------------------------------------------------


def frontier_update(outcome: Outcome) -> FrontierUpdate:
    return FrontierUpdate(
        outcome.item.id, outcome.state, outcome.status_code, outcome.reason, outcome.retry_in
    )


def counters(outcomes: Sequence[Outcome]) -> RunCounters:
    """What a run's outcomes add to its counters."""
    return RunCounters(
        pages_crawled=sum(1 for o in outcomes if o.page is not None and o.item.kind == "page"),
        pages_failed=sum(1 for o in outcomes if o.state == "failed" and o.item.kind == "page"),
        pages_skipped=sum(1 for o in outcomes if o.state == "skipped"),
        pages_unchanged=sum(1 for o in outcomes if o.page is not None and o.page.unchanged),
        images_stored=sum(1 for o in outcomes if o.image is not None and o.image.s3_key is not None),
        bytes_fetched=sum(o.bytes for o in outcomes),
        error_count=sum(1 for o in outcomes if o.error is not None),
        max_depth_seen=max((o.item.depth for o in outcomes if o.state == "fetched"), default=0),
    )


def _page_row(
    item: LeasedUrl,
    fetched: Fetched,
    content_hash: str,
    key: str,
    *,
    unchanged: bool,
    canonical: str | None = None,
) -> PageRow:
    return PageRow(
        run_id=item.run_id,
        tenant_id=item.tenant_id,
        job_id=item.job_id,
        url=item.url,
        final_url=fetched.final_url,
        url_hash=item.url_hash,
        status=fetched.status,
        content_type=fetched.content_type,
        content_hash=content_hash,
        s3_key=key,
        bytes=len(fetched.body),
        etag=fetched.headers.get("etag"),
        last_modified=fetched.headers.get("last-modified"),
        unchanged=unchanged,
        depth=item.depth,
        final_url_hash=url_hash(fetched.final_url),
        canonical_hash=url_hash(canonical) if canonical is not None else None,
    )


def _image_row(
    item: LeasedUrl, fetched: Fetched, facts: ImageFacts, stored: StoredImage | None, *, skipped: str | None
) -> ImageRow:
    info = facts.info
    provenance = item.provenance or {}
    return ImageRow(
        run_id=item.run_id,
        tenant_id=item.tenant_id,
        url=item.url,
        url_hash=item.url_hash,
        page_url=item.discovered_from,
        width=None if info is None else info.width,
        height=None if info is None else info.height,
        format=None if info is None else info.format,
        bytes=len(fetched.body),
        s3_key=None if stored is None else stored.key,
        skipped=skipped,
        alt_text=provenance.get("alt") or provenance.get("title"),
        label=provenance.get("keyword"),
        provenance=item.provenance,
        sha256=None if stored is None else stored.content_hash,
        phash=facts.phash,
        exif_orientation=facts.exif_orientation,
        pixel_stddev=facts.pixel_stddev,
        decode_error=facts.decode_error,
        thumbnail_key=None if stored is None else stored.thumbnail_key,
        content_type=fetched.content_type or None,
    )
