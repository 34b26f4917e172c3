"""The searcher: keyword jobs' searches, from the provider's answer to the run's frontier.

Searches wait in `keyword_searches` (planned when the run starts) and are leased like URLs, so
a crash loses none and any crawler process may make them. Before asking the provider, the
cache (24 h by default) is read; a request then takes its turn at the provider's rate and
counts against its monthly quota, both shared by every process through Postgres, and waits
while the provider's breaker is open. The answer's results go to the frontier with their
provenance, and the search is settled in the same unit of work: `done` with its results, or
`zero_results` with what the provider said about it — never a quiet success — or, when the
provider keeps failing (or refuses the request, or the quota is spent), `failed` with a
TaskFailed. The run completes only when none of its searches is left.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from services.crawler import metrics, store
from services.crawler.domain import search_guard
from services.crawler.domain.search_guard import Guard
from services.crawler.domain.search_results import (
    PlannedSearch,
    ProviderError,
    ProviderRefusal,
    SearchAnswer,
    SearchRequest,
    answered_state,
    seeded_urls,
)
from services.crawler.search_providers import SearchProvider
from shared.config import Settings
from shared.events import TaskFailed
from shared.uow import Database

log = logging.getLogger(__name__)

IDLE_POLL = 0.5
LEASE_SECONDS = 60.0
MAX_TURN_WAIT = 5.0  # a longer wait for the provider's rate gives the search back for later
BACKOFF_CAP = 300.0


class Deferred(Exception):
    """Not now: the breaker is open, or the rate's next turn is far."""

    def __init__(self, seconds: float, reason: str, why: str) -> None:
        super().__init__(why)
        self.seconds = seconds
        self.reason = reason


class QuotaSpent(Exception):
    pass


class Searcher:
    def __init__(self, db: Database, provider: SearchProvider | None, settings: Settings) -> None:
        self._db = db
        self._provider = provider
        self._settings = settings
        self._guard = Guard(
            rate_per_second=settings.search_rate_per_second,
            monthly_quota=settings.search_monthly_quota,
            breaker_threshold=settings.search_breaker_failures,
            breaker_cooldown=settings.search_breaker_cooldown_seconds,
        )
        self._owner = uuid.uuid4()
        self._rng = random.Random()

    async def run(self) -> None:
        try:
            while True:
                if not await self.search_once():
                    await asyncio.sleep(IDLE_POLL)
        finally:
            async with self._db.unit_of_work() as uow:
                await store.release_searches(uow.conn, owner=self._owner)

    async def search_once(self) -> bool:
        """Make one due search; False when none was due."""
        async with self._db.unit_of_work() as uow:
            row = await store.lease_search(uow.conn, owner=self._owner, lease_seconds=LEASE_SECONDS)
        if row is None:
            return False
        search = PlannedSearch(row["keyword"], SearchRequest.from_json(row["request"]), row["expansion"])
        if self._provider is None:
            await self._fail(
                row, None, "no search provider is configured (TRAWL_SEARXNG_URL, TRAWL_BRAVE_API_KEY)"
            )
            return True
        provider = self._provider.name
        try:
            answer, from_cache = await self._answer(self._provider, search.request)
        except Deferred as deferred:
            metrics.SEARCH_DEFERRALS.labels(provider, deferred.reason).inc()
            await self._settle(
                row, "pending", provider, retry_in=deferred.seconds, counts=False, error=str(deferred)
            )
            return True
        except QuotaSpent:
            quota = self._guard.monthly_quota
            await self._fail(row, provider, f"the monthly quota of {quota} requests to {provider} is spent")
            return True
        except ProviderError as error:
            metrics.SEARCHES.labels(provider, error.refusal.value).inc()
            attempts = row["attempts"] + 1
            if error.refusal is ProviderRefusal.REFUSED or attempts >= self._settings.search_max_attempts:
                await self._fail(row, provider, str(error))
            else:
                base = self._settings.search_retry_base_seconds
                wait = search_guard.retry_in(attempts, error, base=base, cap=BACKOFF_CAP, rng=self._rng)
                await self._settle(row, "pending", provider, retry_in=wait, error=str(error))
            return True
        await self._seed(row, search, provider, answer, from_cache)
        return True

    async def _answer(self, provider: SearchProvider, request: SearchRequest) -> tuple[SearchAnswer, bool]:
        """The provider's answer (from the cache when it is fresh), and whether it was cached."""
        cache_key = request.cache_key(provider.name)
        async with self._db.connection() as conn:
            cached = await store.cached_answer(conn, provider=provider.name, cache_key=cache_key)
        if cached is not None:
            return SearchAnswer.from_json(cached), True
        await self._take_turn(provider.name)
        try:
            answer = await provider.search(request)
        except ProviderError as error:
            async with self._db.unit_of_work() as uow:
                state = await store.lock_provider(uow.conn, provider.name)
                failed = search_guard.after_failure(state, error, self._guard, now=time.time())
                await store.save_provider(uow.conn, provider.name, failed)
            raise
        async with self._db.unit_of_work() as uow:
            state = await store.lock_provider(uow.conn, provider.name)
            await store.save_provider(uow.conn, provider.name, search_guard.after_success(state))
            if self._settings.search_cache_ttl_seconds > 0:
                await store.cache_answer(
                    uow.conn,
                    provider=provider.name,
                    cache_key=cache_key,
                    answer=answer.to_json(),
                    ttl_seconds=self._settings.search_cache_ttl_seconds,
                )
        metrics.SEARCHES.labels(provider.name, "answered").inc()
        return answer, False

    async def _take_turn(self, provider: str) -> None:
        """Wait for this request's turn at the provider's rate, counted against its quota."""
        month = datetime.now(UTC).date().replace(day=1)
        async with self._db.unit_of_work() as uow:
            state = await store.lock_provider(uow.conn, provider)
            used = await store.requests_this_month(uow.conn, provider=provider, month=month)
            admission = search_guard.admit(state, self._guard, now=time.time(), used_this_month=used)
            if admission.blocked_for is not None:
                raise Deferred(admission.blocked_for, "breaker_open", f"{provider}'s circuit breaker is open")
            if admission.quota_spent:
                raise QuotaSpent
            if admission.wait > MAX_TURN_WAIT:
                raise Deferred(admission.wait, "rate", f"waiting for a turn at {provider}'s request rate")
            await store.save_provider(uow.conn, provider, admission.state)
            await store.count_request(uow.conn, provider=provider, month=month)
        await asyncio.sleep(admission.wait)

    async def _seed(
        self, row: Any, search: PlannedSearch, provider: str, answer: SearchAnswer, from_cache: bool
    ) -> None:
        urls = seeded_urls(search, provider, answer)
        state = answered_state(search, len(urls))
        async with self._db.unit_of_work() as uow:
            settled = await store.settle_search(
                uow.conn,
                search_id=row["id"],
                owner=self._owner,
                state=state,
                provider=provider,
                results=len(urls),
                from_cache=from_cache,
                diagnostics=answer.diagnostics,
            )
            if settled:
                await store.enqueue(uow.conn, run_id=row["run_id"], tenant_id=row["tenant_id"], urls=urls)
        if state == "zero_results":
            log.warning(
                "search %r on %s found nothing: %s", search.request.query, provider, answer.diagnostics
            )

    async def _settle(
        self,
        row: Any,
        state: str,
        provider: str | None,
        *,
        retry_in: float | None = None,
        counts: bool = True,
        error: str | None = None,
    ) -> None:
        async with self._db.unit_of_work() as uow:
            await store.settle_search(
                uow.conn,
                search_id=row["id"],
                owner=self._owner,
                state=state,
                provider=provider,
                error=error,
                retry_in=retry_in,
                counts_attempt=counts,
            )

    async def _fail(self, row: Any, provider: str | None, error: str) -> None:
        """The search failed for good: recorded on the run, and a TaskFailed for operators."""
        async with self._db.unit_of_work() as uow:
            settled = await store.settle_search(
                uow.conn,
                search_id=row["id"],
                owner=self._owner,
                state="failed",
                provider=provider,
                error=error,
            )
            if settled:
                await uow.outbox.publish(
                    TaskFailed.now(
                        service=uow.service,
                        tenant_id=row["tenant_id"],
                        task_kind="search",
                        error=error,
                        attempts=row["attempts"] + 1,
                        job_id=row["job_id"],
                        run_id=row["run_id"],
                        ids={"query": row["query"][:500], "page": str(row["page"]), "kind": row["kind"]},
                    )
                )
