"""A real crawler service (Kafka, Postgres, S3) and helpers to start crawls and read outcomes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import statistics
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.crawler.app import SPEC
from shared import service
from shared.config import Settings
from shared.db import connect_admin, create_pool
from shared.events import JobConfig, JobCreated
from shared.producer import publish_direct
from shared.service import ServiceRuntime
from tests.support import settings_env, wait_until


@dataclass
class Crawl:
    tenant_id: UUID
    job_id: UUID
    run_id: UUID


def crawler_settings(settings: Settings, allowed: str = "127.0.0.0/8", **overrides: Any) -> Settings:
    return settings.model_copy(
        update={
            "crawler_allowed_networks": [allowed],
            "crawler_lease_seconds": 3.0,
            "crawler_progress_interval_seconds": 0.5,
            "handler_backoff_initial": 0.05,
            # No llm service runs here: a keyword run gives its expansions up quickly.
            "keyword_expansion_wait_seconds": 1.0,
            **overrides,
        }
    )


@contextlib.asynccontextmanager
async def running_crawler(settings: Settings) -> AsyncIterator[ServiceRuntime]:
    async with service.running([ServiceRuntime(SPEC, settings, http_port=0)]) as (runtime,):
        yield runtime


async def start_crawl(
    settings: Settings, config: dict[str, Any], *, job_id: UUID | None = None, tenant_id: UUID | None = None
) -> Crawl:
    crawl = Crawl(tenant_id or uuid4(), job_id or uuid4(), uuid4())
    event = JobCreated(
        tenant_id=crawl.tenant_id,
        job_id=crawl.job_id,
        run_id=crawl.run_id,
        config=JobConfig.model_validate(config),
        created_at=datetime.now(UTC),
    )
    await publish_direct(settings, [event], source="test")
    return crawl


async def wait_finished(pool: asyncpg.Pool, crawl: Crawl, *, within: float = 60.0) -> asyncpg.Record:
    async def finished() -> asyncpg.Record | None:
        row = await pool.fetchrow("SELECT * FROM crawl_runs WHERE run_id = $1", crawl.run_id)
        return row if row is not None and row["status"] != "running" else None

    row: asyncpg.Record = await wait_until(finished, within=within)
    return row


def assert_spaced(arrivals: list[float], delay: float) -> None:
    """Requests to one host went out `delay` apart. Each waits for a time slot reserved exactly
    `delay` after the previous one; its arrival comes later by however long the crawler and
    the server took to wake up, which on a loaded machine is anything up to a good part of the
    delay. So: the whole sequence takes at least (n - 1) slots, less a tenth of slack; the
    typical gap is a full delay; and few gaps (a tenth) fall under half of it, which a crawler
    ignoring the delay, or two replicas each keeping it on their own, would break at once."""
    arrivals = sorted(arrivals)
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert gaps, "at least two requests"
    assert arrivals[-1] - arrivals[0] >= 0.9 * len(gaps) * delay, (arrivals[-1] - arrivals[0], len(gaps))
    assert statistics.median(gaps) >= 0.9 * delay, sorted(gaps)
    assert sum(1 for gap in gaps if gap < delay / 2) <= len(gaps) // 10, sorted(gaps)


async def frontier(pool: asyncpg.Pool, crawl: Crawl) -> dict[str, tuple[str, str | None]]:
    """url -> (state, reason) of every frontier row of the run."""
    rows = await pool.fetch("SELECT url, state, reason FROM frontier WHERE run_id = $1", crawl.run_id)
    return {row["url"]: (row["state"], row["reason"]) for row in rows}


class CrawlerProcess:
    """`python -m services.crawler` as a child process, to run replicas or to kill -9."""

    def __init__(self, settings: Settings, **env: str) -> None:
        self._env = settings_env(
            settings,
            TRAWL_HTTP_BASE_PORT="0",
            TRAWL_LOG_LEVEL="WARNING",
            TRAWL_CRAWLER_ALLOWED_NETWORKS=json.dumps(settings.crawler_allowed_networks),
            TRAWL_CRAWLER_LEASE_SECONDS=str(settings.crawler_lease_seconds),
            TRAWL_HANDLER_BACKOFF_INITIAL=str(settings.handler_backoff_initial),
            **env,
        )
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.crawler", env=self._env, stderr=asyncio.subprocess.DEVNULL
        )
        self.starts += 1

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, in-flight work is simply lost."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                await self.kill()


@contextlib.asynccontextmanager
async def crawler_processes(settings: Settings, *envs: dict[str, str]) -> AsyncIterator[list[CrawlerProcess]]:
    processes = [CrawlerProcess(settings, **env) for env in envs]
    try:
        for process in processes:
            await process.start()
        yield processes
    finally:
        for process in processes:
            await process.stop()


async def crawler_schema_pool(settings: Settings) -> asyncpg.Pool:
    """A pool on the crawler's schema once a crawler process has created it."""

    async def migrated() -> bool:
        conn = await connect_admin(settings)
        try:
            return bool(
                await conn.fetchval(
                    "SELECT to_regclass($1) IS NOT NULL", f"{settings.schema_for('crawler')}.pages"
                )
            )
        finally:
            await conn.close()

    assert await wait_until(migrated, within=60), "the crawler process never migrated its schema"
    return await create_pool(settings, "crawler")
