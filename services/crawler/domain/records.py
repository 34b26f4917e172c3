"""The crawler's records: URLs in the frontier, what a lease hands out, the rows a fetch adds
and a run's counters. Plain values: the rules build them, the store reads and writes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.crawler.domain.urls import url_hash, url_host


@dataclass(frozen=True)
class NewUrl:
    url: str
    url_hash: str
    host: str
    depth: int
    kind: str = "page"  # page | sitemap | image
    page_number: int | None = None
    discovered_from: str | None = None
    provenance: dict[str, Any] | None = None  # a search result's keyword, provider, rank, engine


def new_url(
    url: str,
    *,
    depth: int,
    kind: str = "page",
    page_number: int | None = None,
    discovered_from: str | None = None,
    provenance: dict[str, Any] | None = None,
) -> NewUrl:
    """A URL for the frontier, with the hash and host it is kept by."""
    return NewUrl(
        url=url,
        url_hash=url_hash(url),
        host=url_host(url),
        depth=depth,
        kind=kind,
        page_number=page_number,
        discovered_from=discovered_from,
        provenance=provenance,
    )


@dataclass(frozen=True)
class LeasedUrl:
    """A frontier row this worker leased, with the job's previous fetch of the same URL (for
    conditional requests and unchanged pages)."""

    id: int
    run_id: UUID
    tenant_id: UUID
    job_id: UUID
    url: str
    url_hash: str
    host: str
    depth: int
    kind: str
    page_number: int | None
    attempts: int
    discovered_from: str | None
    previous_etag: str | None
    previous_last_modified: str | None
    previous_content_hash: str | None
    previous_s3_key: str | None
    previous_content_type: str | None
    provenance: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunBudget:
    run_id: UUID
    tenant_id: UUID
    job_id: UUID
    status: str
    pages_left: int  # max_pages minus pages stored minus pages leased
    images_left: int | None  # None: the job sets no image limit


@dataclass(frozen=True)
class FrontierUpdate:
    id: int
    state: str  # fetched | skipped | failed | queued (a retry)
    status_code: int | None
    reason: str | None
    retry_in: float | None  # seconds until the retry, for state 'queued'


@dataclass(frozen=True)
class PageRow:
    run_id: UUID
    tenant_id: UUID
    job_id: UUID
    url: str
    final_url: str
    url_hash: str
    status: int
    content_type: str
    content_hash: str
    s3_key: str
    bytes: int
    etag: str | None
    last_modified: str | None
    unchanged: bool
    depth: int
    final_url_hash: str  # a second page of the run reaching the same final URL is a duplicate
    canonical_hash: str | None  # the rel=canonical it names, when another URL in scope


@dataclass(frozen=True)
class ImageRow:
    run_id: UUID
    tenant_id: UUID
    url: str
    url_hash: str
    page_url: str | None
    width: int | None
    height: int | None
    format: str | None
    bytes: int
    s3_key: str | None  # None: not kept (`skipped` says why)
    skipped: str | None
    alt_text: str | None = None
    label: str | None = None  # the keyword whose search found it
    provenance: dict[str, Any] | None = None
    sha256: str | None = None
    phash: int | None = None
    exif_orientation: int | None = None
    pixel_stddev: float | None = None
    decode_error: str | None = None  # corrupt | truncated
    thumbnail_key: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class RunCounters:
    pages_crawled: int = 0
    pages_failed: int = 0
    pages_skipped: int = 0
    pages_unchanged: int = 0
    images_stored: int = 0
    bytes_fetched: int = 0
    error_count: int = 0
    max_depth_seen: int = 0
