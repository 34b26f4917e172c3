"""Keyword jobs in a real crawler (Kafka, Postgres, S3) against a local SearXNG- or
Brave-compatible server and a web of three sites: what is searched, seeded and fetched, the
cache, the breaker, the quota, and searches that fail for good."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from shared.config import Settings
from shared.events import TaskFailed
from shared.topics import topic_for
from tests.integration.crawler.conftest import (
    Crawl,
    crawler_settings,
    running_crawler,
    start_crawl,
    wait_finished,
)
from tests.sites.keyword_web import KeywordWeb, keyword_web
from tests.sites.search_engines import FakeBrave, FakeSearxng
from tests.support import consume_all

pytestmark = pytest.mark.integration

JOB: dict[str, Any] = {"kind": "keywords", "keywords": ["tide tables", "lantern repair", "unheard-of words"]}


@pytest.fixture
async def web() -> AsyncIterator[KeywordWeb]:
    async with keyword_web() as sites:
        yield sites


@pytest.fixture
async def searxng(web: KeywordWeb) -> AsyncIterator[FakeSearxng]:
    async with FakeSearxng(web.search_index()) as engine:
        yield engine


def searching(settings: Settings, **overrides: Any) -> Settings:
    return crawler_settings(
        settings,
        search_rate_per_second=50.0,
        search_retry_base_seconds=0.2,
        search_breaker_cooldown_seconds=1.5,
        **overrides,
    )


async def searches(pool: asyncpg.Pool, crawl: Crawl) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch("SELECT * FROM keyword_searches WHERE run_id = $1", crawl.run_id)
    return {row["keyword"]: row for row in rows}


async def test_a_keyword_job_fetches_what_its_searches_found_with_their_provenance(
    settings: Settings, web: KeywordWeb, searxng: FakeSearxng
) -> None:
    quick = searching(settings, searxng_url=searxng.base_url)
    async with running_crawler(quick) as runtime:
        assert runtime.pool is not None
        crawl = await start_crawl(quick, JOB)
        run = await wait_finished(runtime.pool, crawl)
        rows = await runtime.pool.fetch(
            "SELECT url, depth, state, provenance FROM frontier WHERE run_id = $1", crawl.run_id
        )
        done = await searches(runtime.pool, crawl)
        again = await start_crawl(quick, JOB, job_id=crawl.job_id, tenant_id=crawl.tenant_id)
        await wait_finished(runtime.pool, again)
        cached = await searches(runtime.pool, again)

    assert run["status"] == "completed"
    # No llm service answered the expansion request: the run went on without, and says so.
    assert (run["expansion_state"], run["expanded_keywords"]) == ("timed_out", {})
    assert "did not answer in time" in run["expansion_note"]
    # Only the results, at depth 0: their links (to their own site's articles, to other sites)
    # are past a keyword job's default depth.
    assert {row["url"] for row in rows} == web.found_urls()
    assert {row["state"] for row in rows} == {"fetched"} and {row["depth"] for row in rows} == {0}
    provenance = {row["url"]: row["provenance"] for row in rows}
    assert provenance[web.url("river", "/articles/2")] == {
        "keyword": "tide tables",
        "query": "tide tables",
        "provider": "searxng",
        "rank": 2,
        "engine": "duckduckgo",
        "title": web.article(web.url("river", "/articles/2")).title,
    }
    assert provenance[web.url("workshop", "/articles/4")]["keyword"] == "lantern repair"
    assert (done["tide tables"]["state"], done["tide tables"]["results"]) == ("done", 3)
    nothing = done["unheard-of words"]
    assert nothing["state"] == "zero_results" and nothing["results"] == 0
    assert nothing["diagnostics"]["unresponsive_engines"] == [["google", "CAPTCHA"], ["bing", "timeout"]]
    # Three searches reached the engine; the second run's were answered by the cache.
    assert len(searxng.searches()) == 3
    assert {row["from_cache"] for row in cached.values()} == {True}
    assert {keyword: row["state"] for keyword, row in cached.items()} == {
        keyword: row["state"] for keyword, row in done.items()
    }


async def test_links_of_a_result_are_followed_within_its_own_site(
    settings: Settings, web: KeywordWeb, searxng: FakeSearxng
) -> None:
    quick = searching(settings, searxng_url=searxng.base_url)
    async with running_crawler(quick) as runtime:
        assert runtime.pool is not None
        crawl = await start_crawl(quick, {**JOB, "keywords": ["lantern repair"], "limits": {"max_depth": 1}})
        await wait_finished(runtime.pool, crawl)
        rows = await runtime.pool.fetch(
            "SELECT url, state, reason FROM frontier WHERE run_id = $1", crawl.run_id
        )
    workshop = web.sites["workshop"]
    fetched = {row["url"] for row in rows if row["state"] == "fetched"}
    assert fetched == {workshop.url(a.path) for a in workshop.articles}
    # The link to another site was not even queued: it is out of the result's scope.
    assert not any(row["url"].startswith(web.sites["harbour"].base_url) for row in rows)


async def test_the_breaker_opens_on_failures_and_no_request_goes_out_while_it_is_open(
    settings: Settings, web: KeywordWeb, searxng: FakeSearxng
) -> None:
    quick = searching(settings, searxng_url=searxng.base_url, search_breaker_failures=2)
    searxng.behaviour.retry_after = 0
    searxng.fail_next("500", "captcha", "429")
    async with running_crawler(quick) as runtime:
        assert runtime.pool is not None
        crawl = await start_crawl(quick, {**JOB, "keywords": ["tide tables"]})
        await wait_finished(runtime.pool, crawl)
        done = await searches(runtime.pool, crawl)
        breaker = await runtime.pool.fetchrow("SELECT * FROM search_providers WHERE provider = 'searxng'")
    assert done["tide tables"]["state"] == "done" and done["tide tables"]["attempts"] == 4
    statuses = [record.status for record in searxng.access_log]
    assert statuses == [500, 403, 429, 200]
    arrivals = [record.time for record in searxng.access_log]
    # The second failure opened the breaker for its cooldown: the third request waited it out,
    # and so did the fourth after the third failure opened it again.
    assert arrivals[2] - arrivals[1] >= 1.5 - 0.05 and arrivals[3] - arrivals[2] >= 1.5 - 0.05
    assert (breaker["failures"], breaker["open_until"]) == (0, None)


async def test_the_monthly_quota_and_a_refused_key_fail_searches_with_a_reason(
    settings: Settings, web: KeywordWeb
) -> None:
    async with FakeBrave(web.search_index(), api_key="right-key") as brave:
        quota = searching(
            settings,
            brave_api_key=SecretStr("right-key"),
            brave_url=brave.url("/res/v1"),
            search_monthly_quota=1,
        )
        async with running_crawler(quota) as runtime:
            assert runtime.pool is not None
            crawl = await start_crawl(quota, {**JOB, "keywords": ["tide tables", "lantern repair"]})
            run = await wait_finished(runtime.pool, crawl)
            spent = await searches(runtime.pool, crawl)
        wrong = searching(settings, brave_api_key=SecretStr("wrong-key"), brave_url=brave.url("/res/v1"))
        async with running_crawler(wrong) as runtime:
            assert runtime.pool is not None
            refused_crawl = await start_crawl(wrong, {**JOB, "keywords": ["lantern repair"]})
            await wait_finished(runtime.pool, refused_crawl)
            refused = await searches(runtime.pool, refused_crawl)
        failures = await _task_failures(settings, expected=2)
    assert run["status"] == "completed"
    states = sorted(row["state"] for row in spent.values())
    assert states == ["done", "failed"]
    failed = next(row for row in spent.values() if row["state"] == "failed")
    assert failed["error"] == "the monthly quota of 1 requests to brave is spent"
    assert failures[0]["error"] == failed["error"]
    assert failures[0]["task_kind"] == "search" and failures[0]["ids"]["query"] == failed["query"]
    # A refused key is not retried: one request, the search failed, the key nowhere in the error.
    row = refused["lantern repair"]
    assert (row["state"], row["attempts"]) == ("failed", 1) and "401" in row["error"]
    assert failures[1]["error"] == row["error"] and failures[1]["run_id"] == str(refused_crawl.run_id)
    assert "wrong-key" not in row["error"] and "wrong-key" not in json.dumps(failures)
    assert sum(1 for record in brave.access_log if record.status == 401) == 1


async def _task_failures(settings: Settings, *, expected: int) -> list[dict[str, Any]]:
    records = await consume_all(settings, [topic_for(TaskFailed, settings.topic_prefix)], expected=expected)
    return sorted((json.loads(record.value) for record in records), key=lambda failure: failure["failed_at"])
