"""The pipeline: from a response to an outcome, ready to commit.

What a response means is decided by the pure rules of `domain.outcomes` and
`domain.discovery`; this module does their I/O and their CPU work off the event loop: a page's
hash, gzip and link discovery in one worker-thread trip, sitemaps parsed and images decoded
in worker threads, the run's earlier pages asked whether a url_pattern page repeats one, and
the bytes put into S3 before any row points at them. Keys are content-addressed: writing an
object that already exists rewrites the same bytes, which costs less than asking first.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from services.crawler import store
from services.crawler.domain import outcomes
from services.crawler.domain.content import COMPRESSIBLE_KINDS, ContentKind, content_kind
from services.crawler.domain.discovery import PageFindings, page_discoveries, sitemap_discoveries
from services.crawler.domain.fetching import Fetched
from services.crawler.domain.images import (
    ImageFacts,
    NotAnImage,
    ai_use_refused,
    analyse_image,
    image_refusal,
)
from services.crawler.domain.outcomes import Outcome, Treatment, treatment
from services.crawler.domain.records import LeasedUrl
from services.crawler.domain.run_view import RunView
from services.crawler.domain.sitemaps import SitemapError, parse_sitemap
from shared.s3 import ObjectNotFoundError, ObjectStore, content_key, tenant_key
from shared.uow import Database


@dataclass(frozen=True)
class _Analysed:
    content_hash: str
    stored_body: bytes
    gzipped: bool
    findings: PageFindings


class Pipeline:
    def __init__(self, db: Database, objects: ObjectStore, rng: random.Random) -> None:
        self._db = db
        self._objects = objects
        self._rng = rng

    async def process(
        self, item: LeasedUrl, view: RunView, fetched: Fetched, robots_sitemaps: Sequence[str]
    ) -> Outcome:
        settled = outcomes.status_outcome(
            item, fetched, max_retries=view.config.limits.max_retries, now=datetime.now(UTC), rng=self._rng
        )
        if settled is not None:
            if settled.page is not None and settled.page.unchanged and item.kind == "page":
                return await self._links_of_stored_copy(settled, view, fetched, robots_sitemaps)
            return settled
        kind = content_kind(fetched.content_type, fetched.body)
        match treatment(item.kind, kind):
            case Treatment.SITEMAP:
                return await self._sitemap(item, view, fetched)
            case Treatment.IMAGE:
                return await self._image(item, view, fetched)
            case Treatment.PAGE:
                return await self._page(item, view, fetched, kind, robots_sitemaps)
            case Treatment.NOT_STORED:
                return outcomes.not_stored(item, fetched, kind)

    async def _page(
        self,
        item: LeasedUrl,
        view: RunView,
        fetched: Fetched,
        kind: ContentKind,
        robots_sitemaps: Sequence[str],
    ) -> Outcome:
        # Hashing, compressing and parsing are CPU work: one trip to a worker thread for all three.
        analysed = await asyncio.to_thread(_analyse, item, view, fetched, kind, robots_sitemaps)
        found = analysed.findings
        same = outcomes.same_as_before(item, fetched, analysed.content_hash, found.discovered)
        if same is not None:
            return same
        if item.page_number is not None and await self._seen_in_run(item, analysed.content_hash):
            return outcomes.repeated_page(item, fetched)
        key = await self._put(item, fetched, analysed.content_hash, analysed.stored_body, analysed.gzipped)
        return outcomes.stored_page(
            item, fetched, analysed.content_hash, key, found.discovered, found.canonical
        )

    async def _links_of_stored_copy(
        self, settled: Outcome, view: RunView, fetched: Fetched, robots_sitemaps: Sequence[str]
    ) -> Outcome:
        """A page not modified (304) since the previous run: its links are those of the copy
        that run stored, so the pages below it are crawled again too."""
        page = settled.page
        assert page is not None
        if content_kind(page.content_type, b"") is not ContentKind.HTML:
            return settled
        try:
            body = await self._objects.get(page.s3_key)
        except ObjectNotFoundError:
            return settled  # the copy is gone: the extractor reports the page, nothing to follow
        stored = replace(fetched, body=body, headers={**fetched.headers, "content-type": page.content_type})
        found = await asyncio.to_thread(page_discoveries, settled.item, view, stored, robots_sitemaps)
        return replace(settled, discovered=found.discovered)

    async def _sitemap(self, item: LeasedUrl, view: RunView, fetched: Fetched) -> Outcome:
        try:
            # Up to tens of MiB of (gzipped) XML: parsed off the event loop.
            sitemap = await asyncio.to_thread(parse_sitemap, fetched.body)
        except SitemapError:
            return outcomes.bad_sitemap(item, fetched)
        return outcomes.read_sitemap(item, fetched, sitemap_discoveries(item, view, sitemap))

    async def _image(self, item: LeasedUrl, view: RunView, fetched: Fetched) -> Outcome:
        """An image (linked, embedded or found by an image search): decoded once for its facts,
        its bytes and thumbnail kept unless its X-Robots-Tag or the job's limits refuse it. A
        file served as an image that does not decode is kept too, for validation to judge."""
        if view.honours_noai and ai_use_refused(fetched.headers.get("x-robots-tag"), view.agent_token):
            return outcomes.skipped_image(item, fetched, None, "noai")
        try:
            facts, content_hash = await asyncio.to_thread(_analyse_and_hash, fetched.body)
        except NotAnImage as exc:  # a decompression bomb
            return outcomes.skipped_image(item, fetched, None, exc.reason)
        if facts.info is None and not fetched.content_type.lower().startswith("image/"):
            return outcomes.skipped_image(item, fetched, None, "not_an_image")
        if facts.info is not None and (refusal := image_refusal(facts.info, view.config.limits)):
            return outcomes.skipped_image(item, fetched, facts.info, refusal)
        key = await self._put(item, fetched, content_hash, fetched.body, gzipped=False)
        thumbnail_key = None
        if facts.thumbnail is not None:
            thumbnail_hash = hashlib.sha256(facts.thumbnail).hexdigest()
            thumbnail_key = content_key(thumbnail_hash, tenant_key(item.tenant_id, "thumbnails"))
            await self._objects.put(thumbnail_key, facts.thumbnail, content_type="image/jpeg")
        stored = outcomes.StoredImage(facts, content_hash, key, thumbnail_key)
        return outcomes.stored_image(item, fetched, stored)

    async def _seen_in_run(self, item: LeasedUrl, content_hash: str) -> bool:
        async with self._db.connection() as conn:
            return await store.run_has_content(conn, run_id=item.run_id, content_hash=content_hash)

    async def _put(
        self, item: LeasedUrl, fetched: Fetched, content_hash: str, body: bytes, gzipped: bool
    ) -> str:
        key = content_key(content_hash, tenant_key(item.tenant_id, "raw"))
        await self._objects.put(
            key,
            body,
            content_type=fetched.content_type or None,
            metadata={"sha256": content_hash},
            gzipped=gzipped,
        )
        return key


def _analyse(
    item: LeasedUrl, view: RunView, fetched: Fetched, kind: ContentKind, robots_sitemaps: Sequence[str]
) -> _Analysed:
    """A page's hash, its stored form and the URLs it leads to (CPU work: run in a worker thread)."""
    body = fetched.body
    compress = kind in COMPRESSIBLE_KINDS
    return _Analysed(
        content_hash=hashlib.sha256(body).hexdigest(),
        stored_body=gzip.compress(body, compresslevel=1) if compress else body,
        gzipped=compress,
        findings=(
            page_discoveries(item, view, fetched, robots_sitemaps)
            if kind is ContentKind.HTML
            else PageFindings([], None)
        ),
    )


def _analyse_and_hash(body: bytes) -> tuple[ImageFacts, str]:
    """An image's facts and its content hash (CPU work: run in a worker thread)."""
    return analyse_image(body), hashlib.sha256(body).hexdigest()
