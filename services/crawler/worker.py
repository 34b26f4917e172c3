"""The crawl loop of one crawler process.

Scrapy's split, over a durable frontier: the *scheduler* leases ready URLs from Postgres
(shallowest first, skipping hosts this process is already busy with, within each run's page
budget); *fetch tasks* pass each URL through politeness (robots.txt, per-host gate, the
host's shared time slot), fetch it, store the bytes in S3 and work out what was found; the
*committer* writes the outcomes of many fetches in one transaction — frontier states, page
rows, newly discovered URLs, counters and the PageFetched / TaskFailed / CrawlProgress /
RunCompleted events through the outbox. Leases are renewed while held; a process that dies
stops renewing, its leases expire and another worker (or the restarted one) fetches those
URLs again, so a crash loses nothing and re-fetches at most what was in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import asyncpg

from services.crawler import metrics, store
from services.crawler.domain.content import (
    COMPRESSIBLE_KINDS,
    STORED_KINDS,
    ContentKind,
    content_kind,
    image_links,
)
from services.crawler.domain.images import ImageInfo, NotAnImage, image_refusal, inspect_image
from services.crawler.domain.links import decode_html, extract_links, select_href
from services.crawler.domain.pagination import template_url
from services.crawler.domain.politeness import (
    AutoThrottle,
    backoff_delay,
    is_retryable_status,
    parse_retry_after,
)
from services.crawler.domain.scope import ScopePolicy
from services.crawler.domain.sitemaps import SitemapError, parse_sitemap
from services.crawler.domain.urls import url_hash, url_host
from services.crawler.fetcher import Fetched, Fetcher, FetchError, FetchLimits
from services.crawler.politeness import HostGates, RobotsCache
from shared import runs
from shared.config import Settings
from shared.db import Connection
from shared.events import (
    CrawlProgress,
    Event,
    JobConfig,
    JobKind,
    PageFetched,
    PaginationType,
    RunCompleted,
    RunStatus,
    TaskFailed,
)
from shared.outbox import Outbox
from shared.s3 import ObjectStore, content_key, tenant_key

log = logging.getLogger(__name__)

_IDLE_POLL = 0.2
_MAINTENANCE_INTERVAL = 0.5
_FLUSH_INTERVAL = 0.05
_FLUSH_BATCH = 128
_MAX_UNCOMMITTED = 4  # times the concurrency
_GAUGE_INTERVAL = 5.0
_MAX_URL_LENGTH = 2083  # longer links are not followed (as Scrapy's URLLENGTH_LIMIT)
# Postgres unreachable: retry the same commit; anything else is about the data.
_UNREACHABLE = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
)
_RETRY_BASE = 1.0
_RETRY_CAP = 300.0


@dataclass(frozen=True)
class RunView:
    """What fetch tasks need to know about a run, built once from its JobConfig."""

    run_id: UUID
    tenant_id: UUID
    job_id: UUID
    config: JobConfig
    scope: ScopePolicy
    user_agent: str
    fetch_limits: FetchLimits

    @property
    def respects_robots(self) -> bool:
        return self.config.scope.respect_robots

    @property
    def wants_sitemaps(self) -> bool:
        return bool(self.config.options.get("sitemaps", True))

    @property
    def autothrottle(self) -> bool:
        return bool(self.config.options.get("autothrottle", False))

    @property
    def collects_images(self) -> bool:
        return self.config.kind is JobKind.IMAGES


@dataclass
class Outcome:
    """Everything one fetch task found, committed later with many others."""

    item: store.LeasedUrl
    state: str  # fetched | skipped | failed | queued (retry) | released (never fetched)
    status_code: int | None = None
    reason: str | None = None
    retry_in: float | None = None
    page: store.PageRow | None = None
    image: store.ImageRow | None = None
    discovered: list[store.NewUrl] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    end_pattern: bool = False
    bytes: int = 0


class KnownUrls:
    """URL hashes this worker knows are in a run's frontier, so that links to them (most links,
    on most pages) are not sent to Postgres again. The frontier's unique key stays the
    authority; this only saves the round of conflicts. Bounded per run."""

    def __init__(self, per_run: int = 500_000) -> None:
        self._per_run = per_run
        self._runs: dict[UUID, set[str]] = {}

    def has(self, run_id: UUID, url_hash: str) -> bool:
        known = self._runs.get(run_id)
        return known is not None and url_hash in known

    def add(self, run_id: UUID, url_hashes: Sequence[str]) -> None:
        known = self._runs.setdefault(run_id, set())
        if len(known) < self._per_run:
            known.update(url_hashes)

    def keep_only(self, run_ids: set[UUID]) -> None:
        for run_id in self._runs.keys() - run_ids:
            del self._runs[run_id]


@dataclass(frozen=True)
class _Analysed:
    content_hash: str
    stored_body: bytes
    gzipped: bool
    discovered: list[store.NewUrl]


class CrawlWorker:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        objects: ObjectStore,
        fetcher: Fetcher,
        settings: Settings,
        concurrency: int | None = None,
    ) -> None:
        self._pool = pool
        self._objects = objects
        self._fetcher = fetcher
        self._settings = settings
        self._concurrency = concurrency or settings.crawler_concurrency
        self._lease_seconds = settings.crawler_lease_seconds
        self.owner = uuid4()
        self._robots = RobotsCache(pool, fetcher, settings.crawler_robots_ttl_seconds)
        self._gates = HostGates()
        self._throttles: dict[str, float] = {}
        self._runs: dict[UUID, RunView] = {}
        self._known = KnownUrls()
        self._cancelled: set[UUID] = set()
        self._inflight: dict[int, store.LeasedUrl] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._fetching = 0  # tasks not yet past their fetch
        self._outcomes: list[Outcome] = []
        self._slot_freed = asyncio.Event()
        self._outcome_ready = asyncio.Event()
        self._rng = random.Random()
        self._round_robin = 0

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._schedule_forever())
                group.create_task(self._commit_forever())
                group.create_task(self._maintain_forever())
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await store.release_leases(self._pool, owner=self.owner, ids=list(self._inflight))

    # --- scheduler -----------------------------------------------------------------------

    async def _schedule_forever(self) -> None:
        while True:
            # Fetch slots free up when a fetch ends, not when its outcome is stored or
            # committed; the backlog of uncommitted outcomes is bounded separately.
            free = min(
                self._concurrency - self._fetching,
                _MAX_UNCOMMITTED * self._concurrency - len(self._inflight),
            )
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            leased = await self._lease(free)
            for item, view in leased:
                self._inflight[item.id] = item
                self._fetching += 1
                task = asyncio.create_task(self._crawl(item, view))
                self._tasks.add(task)
                task.add_done_callback(self._task_done)
            if not leased:
                self._slot_freed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slot_freed.wait(), _IDLE_POLL)

    async def _lease(self, free: int) -> list[tuple[store.LeasedUrl, RunView]]:
        budgets = await store.run_budgets(self._pool)
        running = {budget.run_id for budget in budgets}
        self._runs = {run_id: view for run_id, view in self._runs.items() if run_id in running}
        self._known.keep_only(running)
        if not budgets:
            return []
        self._round_robin = (self._round_robin + 1) % len(budgets)
        leased: list[tuple[store.LeasedUrl, RunView]] = []
        for budget in budgets[self._round_robin :] + budgets[: self._round_robin]:
            room = free - len(leased)
            if room <= 0:
                break
            view = await self._view(budget)
            if view is None:
                continue
            kinds = ["page", "sitemap"] if budget.pages_left > 0 else []
            if view.collects_images and (budget.images_left is None or budget.images_left > 0):
                kinds.append("image")
            if not kinds:
                continue
            limit = min(room, max(budget.pages_left, 0) or room)
            per_host = view.config.limits.per_host_concurrency
            busy = [host for host in self._busy_hosts() if self._gates.load(host) >= 2 * per_host]
            items = await store.lease(
                self._pool,
                owner=self.owner,
                run_id=budget.run_id,
                kinds=kinds,
                limit=limit,
                skip_hosts=busy,
                per_host=per_host,
                lease_seconds=self._lease_seconds,
            )
            leased += [(item, view) for item in items]
        return leased

    def _busy_hosts(self) -> set[str]:
        return {item.host for item in self._inflight.values()}

    async def _view(self, budget: store.RunBudget) -> RunView | None:
        view = self._runs.get(budget.run_id)
        if view is not None:
            return view
        async with self._pool.acquire() as conn:
            config = await runs.run_config(conn, run_id=budget.run_id, tenant_id=budget.tenant_id)
        if config is None:
            return None
        limits = config.limits
        timeout = limits.request_timeout_seconds
        view = RunView(
            run_id=budget.run_id,
            tenant_id=budget.tenant_id,
            job_id=budget.job_id,
            config=config,
            scope=ScopePolicy.for_job(config),
            user_agent=config.user_agent or self._settings.crawler_user_agent,
            fetch_limits=FetchLimits(
                max_body_bytes=limits.max_body_bytes,
                connect_timeout=min(10.0, timeout),
                read_timeout=timeout,
                total_timeout=timeout * 2,
            ),
        )
        self._runs[budget.run_id] = view
        return view

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("fetch task crashed", exc_info=task.exception())

    # --- one URL -------------------------------------------------------------------------

    async def _crawl(self, item: store.LeasedUrl, view: RunView) -> None:
        try:
            outcome = await self._fetch_and_store(item, view)
        except Exception as exc:  # a bug or an S3 outage: counts as an attempt, retried later
            log.exception("crawling %s failed", item.url)
            outcome = self._retry_or_fail(item, view, f"{type(exc).__name__}: {exc}", None)
        metrics.FETCH_OUTCOMES.labels(outcome.state, _status_class(outcome.status_code)).inc()
        self._outcomes.append(outcome)
        if len(self._outcomes) >= _FLUSH_BATCH:
            self._outcome_ready.set()

    async def _fetch_and_store(self, item: store.LeasedUrl, view: RunView) -> Outcome:
        """Fetch, then store: the fetch slot is given back as soon as the response is in, so
        storing (hashing, parsing, the S3 upload) never holds up the next fetch."""
        try:
            fetched, sitemaps = await self._fetch(item, view)
        finally:
            self._fetching -= 1
            self._slot_freed.set()
        if isinstance(fetched, Outcome):
            return fetched
        return await self._outcome_of(item, view, fetched, sitemaps)

    async def _fetch(self, item: store.LeasedUrl, view: RunView) -> tuple[Fetched | Outcome, list[str]]:
        """The response (and the host's sitemaps), or the outcome when there is none to store."""
        origin = _origin(item.url)
        async with self._gates.enter(item.host, view.config.limits.per_host_concurrency):
            if item.run_id in self._cancelled:
                return Outcome(item, "released"), []
            robots = await self._robots.rules(origin, view.user_agent) if view.respects_robots else None
            if robots is not None and not robots.allows(item.url, view.user_agent):
                metrics.ROBOTS_DENIALS.inc()
                return Outcome(item, "skipped", reason="robots"), []
            crawl_delay = robots.crawl_delay(view.user_agent) if robots else None
            await self._wait_for_turn(item.host, view, crawl_delay)
            if item.run_id in self._cancelled:
                return Outcome(item, "released"), []
            try:
                fetched = await self._fetcher.fetch(
                    item.url,
                    headers=self._request_headers(item, view),
                    limits=view.fetch_limits,
                    check_redirect=lambda target: self._redirect_refusal(target, item, view),
                    pace=lambda target: self._wait_for_turn(
                        url_host(target), view, crawl_delay if url_host(target) == item.host else None
                    ),
                )
            except FetchError as exc:
                if exc.kind == "ssrf":
                    metrics.SSRF_REFUSALS.inc()
                if exc.retryable:
                    return self._retry_or_fail(item, view, str(exc), None), []
                return _failed(item, exc.kind, str(exc), None), []
            metrics.FETCH_SECONDS.observe(fetched.elapsed)
            if view.autothrottle:
                throttle = AutoThrottle(
                    target_concurrency=float(view.config.limits.per_host_concurrency),
                    min_delay=view.config.limits.min_delay_seconds,
                    max_delay=60.0,
                )
                current = self._throttles.get(item.host, view.config.limits.min_delay_seconds)
                self._throttles[item.host] = throttle.next_delay(current, fetched.elapsed, fetched.status)
        return fetched, robots.sitemaps if robots is not None else []

    async def _wait_for_turn(self, host: str, view: RunView, crawl_delay: float | None) -> None:
        delay = max(view.config.limits.min_delay_seconds, crawl_delay or 0.0, self._throttles.get(host, 0.0))
        if delay > 0:
            # An absolute slot time, not a relative wait: the spacing then does not depend on
            # how long the reservation's round trip took.
            slot = await store.reserve_host_slot(self._pool, host, delay)
            if (wait := slot - time.time()) > 0:
                await asyncio.sleep(wait)

    def _request_headers(self, item: store.LeasedUrl, view: RunView) -> dict[str, str]:
        headers = {"user-agent": view.user_agent, "accept": "*/*"}
        if item.previous_etag:
            headers["if-none-match"] = item.previous_etag
        if item.previous_last_modified:
            headers["if-modified-since"] = item.previous_last_modified
        return headers

    async def _redirect_refusal(self, target: str, item: store.LeasedUrl, view: RunView) -> str | None:
        return view.scope.refusal(target, item.depth)

    async def _outcome_of(
        self, item: store.LeasedUrl, view: RunView, fetched: Fetched, sitemaps: list[str]
    ) -> Outcome:
        status = fetched.status
        if status == 304 and item.previous_s3_key and item.previous_content_hash:
            return self._unchanged(item, fetched, item.previous_content_hash, item.previous_s3_key)
        if is_retryable_status(status):
            retry_after = parse_retry_after(fetched.headers.get("retry-after"), datetime.now(UTC))
            if retry_after is not None and status in (429, 503):
                await store.push_back_host(self._pool, item.host, retry_after)
            return self._retry_or_fail(item, view, f"HTTP {status}", status, retry_after)
        if status >= 300:
            outcome = _failed(item, f"http_{status}", f"HTTP {status}", status, publish=False)
            outcome.end_pattern = item.page_number is not None
            return outcome
        if item.kind == "sitemap":
            return await self._sitemap_outcome(item, view, fetched)
        if item.kind == "image" or content_kind(fetched.content_type, fetched.body) is ContentKind.IMAGE:
            return await self._image_outcome(item, view, fetched)
        return await self._page_outcome(item, view, fetched, sitemaps)

    async def _page_outcome(
        self, item: store.LeasedUrl, view: RunView, fetched: Fetched, sitemaps: list[str]
    ) -> Outcome:
        kind = content_kind(fetched.content_type, fetched.body)
        if kind not in STORED_KINDS:
            reason = f"content_type:{kind.value}"
            return Outcome(item, "skipped", fetched.status, reason=reason, bytes=len(fetched.body))
        # Hashing, compressing and parsing are CPU work: one trip to a worker thread for all three.
        analysed = await asyncio.to_thread(self._analyse, item, view, fetched, kind, sitemaps)
        if item.previous_content_hash == analysed.content_hash and item.previous_s3_key:
            return self._unchanged(item, fetched, analysed.content_hash, item.previous_s3_key)
        if item.page_number is not None and await store.run_has_content(
            self._pool, run_id=item.run_id, content_hash=analysed.content_hash
        ):
            return Outcome(item, "skipped", fetched.status, reason="pagination_repeat", end_pattern=True)
        # Content-addressed: writing an object that already exists rewrites the same bytes,
        # which costs less than asking first.
        key = content_key(analysed.content_hash, tenant_key(item.tenant_id, "raw"))
        await self._objects.put(
            key,
            analysed.stored_body,
            content_type=fetched.content_type or None,
            metadata={"sha256": analysed.content_hash},
            gzipped=analysed.gzipped,
        )
        outcome = Outcome(item, "fetched", fetched.status, bytes=len(fetched.body))
        outcome.page = self._page_row(item, fetched, analysed.content_hash, key, unchanged=False)
        outcome.events.append(self._page_fetched(item, outcome.page))
        outcome.discovered = analysed.discovered
        return outcome

    def _analyse(
        self, item: store.LeasedUrl, view: RunView, fetched: Fetched, kind: ContentKind, sitemaps: list[str]
    ) -> _Analysed:
        body = fetched.body
        compress = kind in COMPRESSIBLE_KINDS
        return _Analysed(
            content_hash=hashlib.sha256(body).hexdigest(),
            stored_body=gzip.compress(body, compresslevel=1) if compress else body,
            gzipped=compress,
            discovered=self._discover(item, view, fetched, sitemaps) if kind is ContentKind.HTML else [],
        )

    def _discover(
        self, item: store.LeasedUrl, view: RunView, fetched: Fetched, sitemaps: list[str]
    ) -> list[store.NewUrl]:
        """Links worth queueing from an HTML page."""
        html = decode_html(fetched.body, fetched.content_type)
        base = fetched.final_url
        found: list[store.NewUrl] = []
        config = view.config
        links = extract_links(html, base, follow_nofollow=config.scope.follow_nofollow)
        found += self._in_scope(links.links + links.next_links, item.depth + 1, view, item.url)
        pagination = config.pagination
        if pagination.type is PaginationType.NEXT_BUTTON and pagination.next_selector:
            next_url = select_href(html, base, pagination.next_selector)
            if next_url:
                found += self._in_scope([next_url], item.depth, view, item.url)
        if (
            pagination.type is PaginationType.URL_PATTERN
            and item.page_number is not None
            and pagination.url_template
        ):
            number = item.page_number + 1
            if pagination.max_page is None or number <= pagination.max_page:
                found += self._in_scope(
                    [template_url(pagination.url_template, number)],
                    item.depth,
                    view,
                    item.url,
                    page_number=number,
                )
        if view.collects_images:
            found += self._in_scope(image_links(html, base), item.depth + 1, view, item.url, kind="image")
        if item.depth == 0 and item.discovered_from is None and view.wants_sitemaps:
            candidates = [*sitemaps, f"{_origin(item.url)}/sitemap.xml"]
            found += self._in_scope(candidates, item.depth, view, item.url, kind="sitemap", check_scope=False)
        return found

    def _in_scope(
        self,
        urls: Sequence[str],
        depth: int,
        view: RunView,
        source: str,
        *,
        kind: str = "page",
        page_number: int | None = None,
        check_scope: bool = True,
    ) -> list[store.NewUrl]:
        found = []
        for url in urls:
            if len(url) > _MAX_URL_LENGTH:
                continue
            if check_scope and view.scope.refusal(url, depth) is not None:
                continue
            found.append(
                store.NewUrl(
                    url=url,
                    url_hash=url_hash(url),
                    host=url_host(url),
                    depth=depth,
                    kind=kind,
                    page_number=page_number,
                    discovered_from=source,
                )
            )
        return found

    async def _sitemap_outcome(self, item: store.LeasedUrl, view: RunView, fetched: Fetched) -> Outcome:
        try:
            # Up to tens of MiB of (gzipped) XML: parsed off the event loop.
            sitemap = await asyncio.to_thread(parse_sitemap, fetched.body)
        except SitemapError as exc:
            return _failed(item, "bad_sitemap", str(exc), fetched.status, publish=False)
        outcome = Outcome(item, "fetched", fetched.status, bytes=len(fetched.body))
        outcome.discovered = self._in_scope(sitemap.urls, 1, view, item.url) + self._in_scope(
            sitemap.sitemaps, item.depth, view, item.url, kind="sitemap", check_scope=False
        )
        return outcome

    async def _image_outcome(self, item: store.LeasedUrl, view: RunView, fetched: Fetched) -> Outcome:
        """An image (linked or embedded): its size and format recorded, its bytes kept unless
        the job's limits refuse it."""
        size = len(fetched.body)
        try:
            info, content_hash = await asyncio.to_thread(_inspect_and_hash, fetched.body)
        except NotAnImage:
            outcome = Outcome(item, "skipped", fetched.status, reason="not_an_image", bytes=size)
            outcome.image = self._image_row(item, None, None, None, size, None, "not_an_image")
            return outcome
        refusal = image_refusal(info, view.config.limits)
        if refusal is not None:
            outcome = Outcome(item, "skipped", fetched.status, reason=refusal, bytes=size)
            outcome.image = self._image_row(item, info.width, info.height, info.format, size, None, refusal)
            return outcome
        key = content_key(content_hash, tenant_key(item.tenant_id, "raw"))
        await self._objects.put(
            key, fetched.body, content_type=fetched.content_type or None, metadata={"sha256": content_hash}
        )
        outcome = Outcome(item, "fetched", fetched.status, bytes=size)
        outcome.image = self._image_row(item, info.width, info.height, info.format, size, key, None)
        outcome.page = self._page_row(item, fetched, content_hash, key, unchanged=False)
        outcome.events.append(self._page_fetched(item, outcome.page))
        return outcome

    def _image_row(
        self,
        item: store.LeasedUrl,
        width: int | None,
        height: int | None,
        image_format: str | None,
        size: int,
        key: str | None,
        skipped: str | None,
    ) -> store.ImageRow:
        return store.ImageRow(
            run_id=item.run_id,
            tenant_id=item.tenant_id,
            url=item.url,
            url_hash=item.url_hash,
            page_url=item.discovered_from,
            width=width,
            height=height,
            format=image_format,
            bytes=size,
            s3_key=key,
            skipped=skipped,
        )

    def _unchanged(self, item: store.LeasedUrl, fetched: Fetched, content_hash: str, key: str) -> Outcome:
        outcome = Outcome(item, "fetched", fetched.status, reason="unchanged")
        content_type = fetched.content_type or item.previous_content_type or ""
        outcome.page = replace(
            self._page_row(item, fetched, content_hash, key, unchanged=True), content_type=content_type
        )
        outcome.events.append(self._page_fetched(item, outcome.page))
        return outcome

    def _page_row(
        self,
        item: store.LeasedUrl,
        fetched: Fetched,
        content_hash: str,
        key: str,
        *,
        unchanged: bool,
    ) -> store.PageRow:
        return store.PageRow(
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
        )

    def _page_fetched(self, item: store.LeasedUrl, page: store.PageRow) -> PageFetched:
        return PageFetched(
            tenant_id=item.tenant_id,
            job_id=item.job_id,
            run_id=item.run_id,
            url=page.url,
            final_url=page.final_url,
            url_hash=page.url_hash,
            status=page.status,
            content_type=page.content_type,
            content_hash=page.content_hash,
            s3_key=page.s3_key,
            size=page.bytes,
            depth=page.depth,
            fetched_at=datetime.now(UTC),
            unchanged=page.unchanged,
        )

    def _retry_or_fail(
        self,
        item: store.LeasedUrl,
        view: RunView,
        error: str,
        status: int | None,
        retry_after: float | None = None,
    ) -> Outcome:
        attempt = item.attempts + 1
        if attempt <= view.config.limits.max_retries:
            metrics.RETRIES.inc()
            delay = (
                retry_after
                if retry_after is not None
                else backoff_delay(attempt, base=_RETRY_BASE, cap=_RETRY_CAP, rng=self._rng)
            )
            return Outcome(item, "queued", status, reason=error[:500], retry_in=delay)
        return _failed(item, "retries_exhausted", error, status)

    # --- committer -----------------------------------------------------------------------

    async def _commit_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outcome_ready.wait(), _FLUSH_INTERVAL)
            self._outcome_ready.clear()
            if not self._outcomes:
                continue
            batch, self._outcomes = self._outcomes, []
            try:
                await self._commit(batch)
            except _UNREACHABLE:
                log.exception("committing %d outcomes failed; retrying", len(batch))
                self._outcomes[:0] = batch
                await asyncio.sleep(1.0)
                continue
            except Exception:
                log.exception("committing %d outcomes failed; committing them one by one", len(batch))
                await self._commit_separately(batch)
            for outcome in batch:
                self._inflight.pop(outcome.item.id, None)
            self._slot_freed.set()

    async def _commit_separately(self, batch: list[Outcome]) -> None:
        """Isolate the outcome that cannot be committed (whatever the reason, a bug included):
        it is recorded as a failure of its URL instead of blocking every other one."""
        for outcome in batch:
            try:
                await self._commit([outcome])
            except Exception as exc:
                log.exception("cannot commit the outcome of %s", outcome.item.url)
                failure = _failed(outcome.item, "internal_error", f"{type(exc).__name__}: {exc}", None)
                with contextlib.suppress(Exception):  # left leased: it expires and is retried
                    await self._commit([failure])

    async def _commit(self, batch: list[Outcome]) -> None:
        released = [o.item.id for o in batch if o.state == "released"]
        decided = [o for o in batch if o.state != "released"]
        async with self._pool.acquire() as conn, conn.transaction():
            held = await store.still_leased(conn, owner=self.owner, ids=sorted(o.item.id for o in decided))
            decided = [o for o in decided if o.item.id in held]  # others: our lease expired, re-leased
            await store.update_frontier(
                conn,
                [
                    store.FrontierUpdate(o.item.id, o.state, o.status_code, o.reason, o.retry_in)
                    for o in decided
                ],
            )
            await store.insert_pages(conn, [o.page for o in decided if o.page is not None])
            await store.insert_images(conn, [o.image for o in decided if o.image is not None])
            by_run: dict[UUID, list[Outcome]] = defaultdict(list)
            for outcome in decided:
                by_run[outcome.item.run_id].append(outcome)
            events: list[Event] = [event for o in decided for event in o.events]
            enqueued: dict[UUID, list[str]] = {}
            for run_id, outcomes in by_run.items():
                tenant_id = outcomes[0].item.tenant_id
                discovered = {
                    u.url_hash: u
                    for o in outcomes
                    for u in o.discovered
                    if not self._known.has(run_id, u.url_hash)
                }
                await store.enqueue(conn, run_id=run_id, tenant_id=tenant_id, urls=list(discovered.values()))
                enqueued[run_id] = list(discovered)
                await store.add_counters(conn, run_id, _counters(outcomes))
                for outcome in outcomes:
                    if outcome.end_pattern and outcome.item.page_number is not None:
                        await store.skip_pattern_pages_after(
                            conn, run_id=run_id, page_number=outcome.item.page_number, reason="pagination_end"
                        )
            events += await self._progress_and_completion(conn, list(by_run))
            if events:
                await Outbox(conn, source="crawler", topic_prefix=self._settings.topic_prefix).publish_many(
                    events
                )
        for run_id, hashes in enqueued.items():
            self._known.add(run_id, hashes)
        if released:
            await store.release_leases(self._pool, owner=self.owner, ids=released)
        metrics.FETCH_BYTES.inc(sum(o.bytes for o in decided))

    async def _progress_and_completion(self, conn: Connection, run_ids: list[UUID]) -> list[Event]:
        events: list[Event] = []
        for row in await store.claim_progress_reports(
            conn, run_ids, self._settings.crawler_progress_interval_seconds
        ):
            events.append(
                CrawlProgress(
                    tenant_id=row["tenant_id"],
                    job_id=row["job_id"],
                    run_id=row["run_id"],
                    pages_crawled=row["pages_crawled"],
                    pages_failed=row["pages_failed"],
                    pages_skipped=row["pages_skipped"],
                    pages_total=row["pages_total"],
                    current_depth=row["current_depth"],
                    in_flight=row["in_flight"],
                    reported_at=datetime.now(UTC),
                )
            )
        events += await completions(conn, run_ids)
        return events

    # --- maintenance ---------------------------------------------------------------------

    async def _maintain_forever(self) -> None:
        last_renewal = last_gauges = time.monotonic()
        while True:
            await asyncio.sleep(_MAINTENANCE_INTERVAL)
            now = time.monotonic()
            if now - last_renewal >= self._lease_seconds / 3:
                await store.renew_leases(
                    self._pool, owner=self.owner, ids=list(self._inflight), lease_seconds=self._lease_seconds
                )
                last_renewal = now
            await store.release_expired_leases(self._pool)
            statuses = await store.run_statuses(self._pool, list({i.run_id for i in self._inflight.values()}))
            self._cancelled = {run_id for run_id, status in statuses.items() if status != "running"}
            async with self._pool.acquire() as conn, conn.transaction():
                events = await completions(conn, None)
                if events:
                    await Outbox(
                        conn, source="crawler", topic_prefix=self._settings.topic_prefix
                    ).publish_many(events)
            metrics.IN_FLIGHT.set(len(self._inflight))
            if now - last_gauges >= _GAUGE_INTERVAL:
                metrics.FRONTIER_QUEUED.set(await store.queued_urls(self._pool))
                last_gauges = now


async def completions(conn: Connection, run_ids: list[UUID] | None) -> list[Event]:
    """RunCompleted for each run that just finished (exactly once: the status flips once)."""
    return [
        RunCompleted(
            tenant_id=row["tenant_id"],
            job_id=row["job_id"],
            run_id=row["run_id"],
            service="crawler",
            status=RunStatus.COMPLETED,
            counters={
                "pages_published": row["pages_published"],
                "pages_crawled": row["pages_crawled"],
                "pages_failed": row["pages_failed"],
                "pages_skipped": row["pages_skipped"],
                "pages_unchanged": row["pages_unchanged"],
                "pages_total": row["pages_total"],
                "images_stored": row["images_stored"],
                "error_count": row["error_count"],
                "bytes_fetched": row["bytes_fetched"],
            },
            completed_at=datetime.now(UTC),
        )
        for row in await store.complete_finished_runs(conn, run_ids)
    ]


def _inspect_and_hash(body: bytes) -> tuple[ImageInfo, str]:
    """An image's header facts and its content hash (CPU work: run in a worker thread)."""
    return inspect_image(body), hashlib.sha256(body).hexdigest()


def _failed(
    item: store.LeasedUrl, reason: str, error: str, status: int | None, *, publish: bool = True
) -> Outcome:
    """A URL that will not be fetched: recorded with its reason; errors (as opposed to final
    answers such as a 404) also count in error_count and publish a TaskFailed."""
    outcome = Outcome(item, "failed", status, reason=reason)
    if publish:
        outcome.events.append(
            TaskFailed(
                tenant_id=item.tenant_id,
                service="crawler",
                task_kind="fetch",
                job_id=item.job_id,
                run_id=item.run_id,
                ids={"url": item.url[:2000], "url_hash": item.url_hash},
                error=error[:4000],
                attempts=item.attempts + 1,
                failed_at=datetime.now(UTC),
            )
        )
    return outcome


def _counters(outcomes: list[Outcome]) -> store.RunCounters:
    return store.RunCounters(
        pages_crawled=sum(1 for o in outcomes if o.page is not None and o.item.kind == "page"),
        pages_failed=sum(1 for o in outcomes if o.state == "failed" and o.item.kind == "page"),
        pages_skipped=sum(1 for o in outcomes if o.state == "skipped"),
        pages_unchanged=sum(1 for o in outcomes if o.page is not None and o.page.unchanged),
        images_stored=sum(1 for o in outcomes if o.image is not None and o.image.s3_key is not None),
        bytes_fetched=sum(o.bytes for o in outcomes),
        error_count=sum(1 for o in outcomes if any(isinstance(e, TaskFailed) for e in o.events)),
        max_depth_seen=max((o.item.depth for o in outcomes if o.state == "fetched"), default=0),
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _status_class(status: int | None) -> str:
    return "none" if status is None else f"{status // 100}xx"
