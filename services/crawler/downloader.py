"""The downloader: a leased URL in, its response out — or the outcome when there is none.

Each request first passes the politeness gate: the host's gate (a few fetches per host at a
time), robots.txt, then the host's time slot. Every redirect hop is a request of its own: it
is checked against the run's scope and waits for its host's slot too. Once the response is in,
the host's autothrottle delay is updated and a 429/503 with Retry-After pushes the host back
for every replica. The downloader holds no state of its own and never touches the store: the
gate keeps what politeness needs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.crawler import metrics
from services.crawler.domain import outcomes
from services.crawler.domain.fetching import Fetched
from services.crawler.domain.outcomes import Outcome
from services.crawler.domain.records import LeasedUrl
from services.crawler.domain.run_view import RunView
from services.crawler.domain.urls import url_host, url_origin
from services.crawler.fetcher import Fetcher, FetchError
from services.crawler.gate import PolitenessGate


@dataclass(frozen=True)
class Response:
    fetched: Fetched
    sitemaps: list[str]  # the Sitemap: lines of the host's robots.txt


class Downloader:
    def __init__(
        self,
        fetcher: Fetcher,
        gate: PolitenessGate,
        *,
        is_cancelled: Callable[[UUID], bool],
        rng: random.Random,
    ) -> None:
        self._fetcher = fetcher
        self._gate = gate
        self._is_cancelled = is_cancelled
        self._rng = rng

    async def download(self, item: LeasedUrl, view: RunView) -> Response | Outcome:
        limits = view.config.limits
        async with self._gate.enter(item.host, limits.per_host_concurrency):
            if self._is_cancelled(item.run_id):
                return outcomes.released(item)
            robots = (
                await self._gate.robots(url_origin(item.url), view.user_agent)
                if view.respects_robots
                else None
            )
            if robots is not None and not robots.allows(item.url, view.user_agent):
                metrics.ROBOTS_DENIALS.inc()
                return outcomes.robots_denied(item)
            crawl_delay = robots.crawl_delay(view.user_agent) if robots else None
            await self._gate.take_turn(item.host, min_delay=limits.min_delay_seconds, crawl_delay=crawl_delay)
            if self._is_cancelled(item.run_id):
                return outcomes.released(item)

            async def redirect_refusal(target: str) -> str | None:
                return view.scope.refusal(target, item.depth, item.url)

            async def pace(target: str) -> None:
                host = url_host(target)
                own_delay = crawl_delay if host == item.host else None  # the Crawl-delay read is item.host's
                await self._gate.take_turn(host, min_delay=limits.min_delay_seconds, crawl_delay=own_delay)

            try:
                fetched = await self._fetcher.fetch(
                    item.url,
                    headers=_request_headers(item, view),
                    limits=view.fetch_limits,
                    check_redirect=redirect_refusal,
                    pace=pace,
                )
            except FetchError as exc:
                return self._failure(item, view, exc)
            metrics.FETCH_SECONDS.observe(fetched.elapsed)
            if view.autothrottle:
                self._gate.throttle(item.host, limits, fetched.elapsed, fetched.status)
        if (wait := outcomes.host_push_back(fetched, datetime.now(UTC))) is not None:
            await self._gate.push_back(item.host, wait)
        return Response(fetched, robots.sitemaps if robots is not None else [])

    def _failure(self, item: LeasedUrl, view: RunView, exc: FetchError) -> Outcome:
        if exc.kind == "ssrf":
            metrics.SSRF_REFUSALS.inc()
        if exc.retryable:
            max_retries = view.config.limits.max_retries
            return outcomes.retry_or_fail(item, str(exc), None, max_retries=max_retries, rng=self._rng)
        return outcomes.failed(item, exc.kind, None, error=str(exc))


def _request_headers(item: LeasedUrl, view: RunView) -> dict[str, str]:
    """Conditional on the job's previous fetch of the URL, so an unchanged page costs a 304."""
    headers = {"user-agent": view.user_agent, "accept": "*/*"}
    if item.previous_etag:
        headers["if-none-match"] = item.previous_etag
    if item.previous_last_modified:
        headers["if-modified-since"] = item.previous_last_modified
    return headers
