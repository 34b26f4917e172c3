"""The crawl loop of one crawler process: scheduler → downloader → pipeline → committer.

Scrapy's split, over a durable frontier: the *scheduler* leases ready URLs; a fetch task per
URL takes it through the *downloader* (politeness, the fetch) and the *pipeline* (what the
response means, its bytes stored in S3); the *committer* writes the outcomes of many fetches
in one transaction. This module wires them and keeps two bounds: at most `concurrency` fetches
at once — a slot frees when the response is in, so storing never holds up the next fetch —
and at most four times that many URLs leased and not yet committed. A process that dies stops
renewing its leases; they expire and another worker (or the restarted one) fetches those URLs
again, so a crash loses nothing and re-fetches at most what was in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence

from services.crawler import metrics
from services.crawler.committer import Committer
from services.crawler.domain import outcomes
from services.crawler.domain.known_urls import KnownUrls
from services.crawler.domain.outcomes import Outcome
from services.crawler.domain.records import LeasedUrl
from services.crawler.domain.run_view import RunView
from services.crawler.downloader import Downloader
from services.crawler.fetcher import Fetcher
from services.crawler.gate import PolitenessGate
from services.crawler.pipeline import Pipeline
from services.crawler.scheduler import Scheduler
from shared.config import Settings
from shared.s3 import ObjectStore
from shared.uow import Database

log = logging.getLogger(__name__)

IDLE_POLL = 0.2
MAX_UNCOMMITTED = 4  # times the concurrency


class CrawlWorker:
    def __init__(
        self,
        *,
        db: Database,
        objects: ObjectStore,
        fetcher: Fetcher,
        settings: Settings,
        concurrency: int | None = None,
    ) -> None:
        rng = random.Random()  # retry jitter
        known = KnownUrls()
        gate = PolitenessGate(db, fetcher, settings.crawler_robots_ttl_seconds)
        self._scheduler = Scheduler(db, gate, known, settings)
        self._downloader = Downloader(fetcher, gate, is_cancelled=self._scheduler.is_cancelled, rng=rng)
        self._pipeline = Pipeline(db, objects, rng)
        self._committer = Committer(
            db,
            owner=self._scheduler.owner,
            known=known,
            progress_interval=settings.crawler_progress_interval_seconds,
            on_committed=self._committed,
        )
        self._rng = rng
        self._concurrency = concurrency or settings.crawler_concurrency
        self._fetching = 0  # tasks not yet past their fetch
        self._tasks: set[asyncio.Task[None]] = set()
        self._slot_freed = asyncio.Event()

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._schedule_forever())
                group.create_task(self._committer.commit_forever())
                group.create_task(self._scheduler.maintain_forever())
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._scheduler.release_held()

    async def _schedule_forever(self) -> None:
        while True:
            # Fetch slots free up when a fetch ends, not when its outcome is stored or
            # committed; the backlog of uncommitted outcomes is bounded separately.
            free = min(
                self._concurrency - self._fetching,
                MAX_UNCOMMITTED * self._concurrency - self._scheduler.held,
            )
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            leased = await self._scheduler.lease(free)
            for item, view in leased:
                self._fetching += 1
                task = asyncio.create_task(self._crawl(item, view))
                self._tasks.add(task)
                task.add_done_callback(self._task_done)
            if not leased:
                self._slot_freed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slot_freed.wait(), IDLE_POLL)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("fetch task crashed", exc_info=task.exception())

    async def _crawl(self, item: LeasedUrl, view: RunView) -> None:
        """One URL, from its lease to its outcome waiting for the committer."""
        try:
            outcome = await self._fetch_and_process(item, view)
        except Exception as exc:  # a bug or an S3 outage: counts as an attempt, retried later
            log.exception("crawling %s failed", item.url)
            error = f"{type(exc).__name__}: {exc}"
            outcome = outcomes.retry_or_fail(
                item, error, None, max_retries=view.config.limits.max_retries, rng=self._rng
            )
        metrics.FETCH_OUTCOMES.labels(outcome.state, _status_class(outcome.status_code)).inc()
        if outcome.state == "queued":
            metrics.RETRIES.inc()
        self._committer.add(outcome)

    async def _fetch_and_process(self, item: LeasedUrl, view: RunView) -> Outcome:
        try:
            response = await self._downloader.download(item, view)
        finally:
            self._fetching -= 1
            self._slot_freed.set()
        if isinstance(response, Outcome):
            return response
        return await self._pipeline.process(item, view, response.fetched, response.sitemaps)

    def _committed(self, batch: Sequence[Outcome]) -> None:
        self._scheduler.settled(outcome.item for outcome in batch)
        self._slot_freed.set()


def _status_class(status: int | None) -> str:
    return "none" if status is None else f"{status // 100}xx"
