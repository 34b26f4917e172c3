"""The committer: the outcomes of many fetches, written in one unit of work.

Fetch tasks hand their outcomes in; every 50 ms, or as soon as 128 wait, the batch is
committed (`commands.commit_outcomes`). Postgres being unreachable is nobody's fault: the same
batch is tried again a second later. Any other failure is about the data (a bug included):
the batch is committed one outcome at a time, and an outcome that still cannot be committed
is recorded as a failure of its URL instead of blocking every other one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from uuid import UUID

import asyncpg

from services.crawler import commands, metrics
from services.crawler.domain import outcomes
from services.crawler.domain.known_urls import KnownUrls
from services.crawler.domain.outcomes import Outcome
from shared.uow import Database

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.05
FLUSH_BATCH = 128
_UNREACHABLE = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
)
_UNREACHABLE_RETRY_SECONDS = 1.0


class Committer:
    def __init__(
        self,
        db: Database,
        *,
        owner: UUID,
        known: KnownUrls,
        progress_interval: float,
        on_committed: Callable[[Sequence[Outcome]], None],
    ) -> None:
        self._db = db
        self._owner = owner
        self._known = known
        self._progress_interval = progress_interval
        self._on_committed = on_committed
        self._waiting: list[Outcome] = []
        self._batch_full = asyncio.Event()

    def add(self, outcome: Outcome) -> None:
        self._waiting.append(outcome)
        if len(self._waiting) >= FLUSH_BATCH:
            self._batch_full.set()

    async def commit_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._batch_full.wait(), FLUSH_INTERVAL)
            self._batch_full.clear()
            if not self._waiting:
                continue
            batch, self._waiting = self._waiting, []
            try:
                await self._commit(batch)
            except _UNREACHABLE:
                log.exception("committing %d outcomes failed; retrying", len(batch))
                self._waiting[:0] = batch
                await asyncio.sleep(_UNREACHABLE_RETRY_SECONDS)
                continue
            except Exception:
                log.exception("committing %d outcomes failed; committing them one by one", len(batch))
                await self._commit_separately(batch)
            self._on_committed(batch)

    async def _commit_separately(self, batch: list[Outcome]) -> None:
        for outcome in batch:
            try:
                await self._commit([outcome])
            except Exception as exc:
                log.exception("cannot commit the outcome of %s", outcome.item.url)
                failure = outcomes.failed(
                    outcome.item, "internal_error", None, error=f"{type(exc).__name__}: {exc}"
                )
                with contextlib.suppress(Exception):  # left leased: it expires and is retried
                    await self._commit([failure])

    async def _commit(self, batch: list[Outcome]) -> None:
        async with self._db.unit_of_work() as uow:
            committed = await commands.commit_outcomes(
                uow, batch, owner=self._owner, known=self._known, progress_interval=self._progress_interval
            )
        for run_id, url_hashes in committed.enqueued.items():  # only once they are in the frontier
            self._known.add(run_id, url_hashes)
        metrics.FETCH_BYTES.inc(committed.bytes_fetched)
