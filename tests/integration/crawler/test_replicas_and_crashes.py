"""Crawler processes: two replicas share one run and its politeness; SIGKILL loses nothing."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest

from shared.config import Settings
from tests.integration.crawler.conftest import (
    assert_spaced,
    crawler_processes,
    crawler_schema_pool,
    crawler_settings,
    running_crawler,
    start_crawl,
    wait_finished,
)
from tests.sites.fixture_site import FixtureSite
from tests.sites.server import read_access_log, site_process
from tests.support import wait_until

pytestmark = pytest.mark.integration

CRAWL_DELAY = 0.3


async def test_two_replicas_share_a_run_and_keep_its_host_spacing(settings: Settings) -> None:
    settings = crawler_settings(settings)
    async with (
        FixtureSite(crawl_delay=CRAWL_DELAY) as site,
        crawler_processes(
            settings, {"TRAWL_CRAWLER_USER_AGENT": "TrawlBot-A"}, {"TRAWL_CRAWLER_USER_AGENT": "TrawlBot-B"}
        ),
    ):
        pool = await crawler_schema_pool(settings)
        try:
            crawl = await start_crawl(
                settings,
                {
                    "seeds": [site.url("/")],
                    "limits": {"max_pages": 30, "max_retries": 0},
                    "options": {"sitemaps": False},
                },
            )
            run = await wait_finished(pool, crawl, within=120)
        finally:
            await pool.close()
    assert run["status"] == "completed"
    requests = [record for record in site.access_log if record.path != "/robots.txt"]
    agents = Counter(record.headers["user-agent"] for record in requests)
    assert set(agents) == {"TrawlBot-A", "TrawlBot-B"}, agents
    # The replicas reserve one host's time slots in Postgres: together they keep its spacing.
    assert_spaced([record.time for record in requests], CRAWL_DELAY)


# The waits below (three kills, then two whole crawls) add up to less than the test's timeout,
# so a slow machine fails on the wait that ran out, with what it last saw.
KILL_WAIT, CRAWL_WAIT = 60, 180


@pytest.mark.timeout(3 * KILL_WAIT + 2 * CRAWL_WAIT + 60)
async def test_sigkill_three_times_loses_nothing_and_refetches_only_in_flight_urls(
    settings: Settings, tmp_path: Path
) -> None:
    settings = crawler_settings(settings, crawler_concurrency=16)
    pages = 2000
    config = {"limits": {"max_pages": 5000, "max_depth": 10, "per_host_concurrency": 16}}
    killed_log = tmp_path / "killed.log"
    async with site_process(
        "tests.sites.static_site",
        str(tmp_path / "site"),
        "--pages",
        str(pages),
        host="127.0.0.1",
        access_log=killed_log,
    ) as base_url:
        async with crawler_processes(settings, {}) as (crawler,):
            pool = await crawler_schema_pool(settings)
            try:
                crawl = await start_crawl(settings, {"seeds": [base_url + "/"], **config})
                for stored in (300, 800, 1400):
                    await wait_until(
                        functools.partial(_stored, pool, crawl.run_id, stored),
                        within=KILL_WAIT,
                        what=f"{stored} pages stored",
                    )
                    await crawler.kill()
                    await asyncio.sleep(0.5)
                    await crawler.start()
                await wait_finished(pool, crawl, within=CRAWL_WAIT)
                interrupted = {
                    row["url"]
                    for row in await pool.fetch("SELECT url FROM pages WHERE run_id = $1", crawl.run_id)
                }
            finally:
                await pool.close()
        fetches = Counter(
            record.path
            for record in read_access_log(killed_log)
            if record.path == "/" or record.path.startswith("/pages/")
        )

        async with running_crawler(settings) as runtime:
            assert runtime.pool is not None
            reference = await start_crawl(settings, {"seeds": [base_url + "/"], **config})
            await wait_finished(runtime.pool, reference, within=CRAWL_WAIT)
            uninterrupted = {
                row["url"]
                for row in await runtime.pool.fetch(
                    "SELECT url FROM pages WHERE run_id = $1", reference.run_id
                )
            }

    assert crawler.starts == 4
    assert len(uninterrupted) == pages
    assert interrupted == uninterrupted
    assert max(fetches.values()) <= 2, fetches.most_common(5)
    assert len(fetches) == pages


async def _stored(pool: asyncpg.Pool, run_id: UUID, at_least: int) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM pages WHERE run_id = $1", run_id) >= at_least)
