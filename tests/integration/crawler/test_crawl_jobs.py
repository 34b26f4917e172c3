"""Crawl jobs beyond the default: recrawls, cancellation, deletion, the SSRF guard,
pagination both ways and image jobs, each against the fixture site."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from services.crawler.domain.urls import canonical_url
from shared.config import Settings
from shared.events import RunCancelled, RunDeleted
from shared.producer import publish_direct
from shared.s3 import ObjectStore
from tests.integration.crawler.conftest import (
    Crawl,
    crawler_settings,
    frontier,
    running_crawler,
    start_crawl,
    wait_finished,
)
from tests.sites.fixture_site import FixtureSite
from tests.support import wait_until

pytestmark = pytest.mark.integration

NO_SITEMAPS: dict[str, Any] = {"sitemaps": False}


@pytest.fixture
async def site() -> AsyncIterator[FixtureSite]:
    async with FixtureSite(host="127.0.0.2", crawl_delay=0.05) as fixture:
        yield fixture


@pytest.fixture
async def crawler(settings: Settings) -> AsyncIterator[tuple[Settings, asyncpg.Pool]]:
    quick = crawler_settings(settings, allowed="127.0.0.2/32")
    async with running_crawler(quick) as runtime:
        assert runtime.pool is not None
        yield quick, runtime.pool


def _by_path(
    site: FixtureSite, states: dict[str, tuple[str, str | None]]
) -> dict[str, tuple[str, str | None]]:
    return {url.removeprefix(site.base_url): outcome for url, outcome in states.items()}


async def test_a_recrawl_asks_for_changes_and_records_unchanged_pages(
    crawler: tuple[Settings, asyncpg.Pool], site: FixtureSite
) -> None:
    settings, pool = crawler
    config = {
        "seeds": [site.url("/cached"), site.url("/about")],
        "limits": {"max_depth": 0},
        "options": NO_SITEMAPS,
    }
    first = await start_crawl(settings, config)
    await wait_finished(pool, first)
    second = await start_crawl(settings, config, job_id=first.job_id, tenant_id=first.tenant_id)
    await wait_finished(pool, second)
    site.revise()
    third = await start_crawl(settings, config, job_id=first.job_id, tenant_id=first.tenant_id)
    await wait_finished(pool, third)

    async def unchanged(crawl: Crawl) -> dict[str, bool]:
        rows = await pool.fetch("SELECT url, unchanged FROM pages WHERE run_id = $1", crawl.run_id)
        return {row["url"].removeprefix(site.base_url): row["unchanged"] for row in rows}

    assert await unchanged(first) == {"/cached": False, "/about": False}
    # /cached answered 304 to If-None-Match; /about came back with the same bytes.
    assert await unchanged(second) == {"/cached": True, "/about": True}
    assert await unchanged(third) == {"/cached": False, "/about": True}
    cached = site.requests_for("/cached")
    assert [record.status for record in cached] == [200, 304, 200]
    assert "if-none-match" not in cached[0].headers
    assert cached[1].headers["if-none-match"] == '"rev-1"'
    assert "if-modified-since" in cached[1].headers


async def test_a_recrawl_follows_the_links_of_unchanged_pages(
    crawler: tuple[Settings, asyncpg.Pool], site: FixtureSite
) -> None:
    """A page unchanged since the job's previous run (a 304, or the same bytes) still leads to
    the pages it links to: the second run reaches every URL the first one did."""
    settings, pool = crawler
    config = {
        "seeds": [site.url("/cached"), site.url("/about")],
        "limits": {"max_depth": 1},
        "options": NO_SITEMAPS,
    }
    first = await start_crawl(settings, config)
    await wait_finished(pool, first)
    second = await start_crawl(settings, config, job_id=first.job_id, tenant_id=first.tenant_id)
    await wait_finished(pool, second)

    async def reached(crawl: Crawl) -> set[str]:
        rows = await pool.fetch("SELECT url FROM frontier WHERE run_id = $1", crawl.run_id)
        return {row["url"].removeprefix(site.base_url) for row in rows}

    assert {"/cached", "/about", "/"} <= await reached(first)
    assert await reached(second) == await reached(first)
    assert [record.status for record in site.requests_for("/cached")] == [200, 304]


async def test_cancelling_stops_new_fetches(
    settings: Settings, crawler: tuple[Settings, asyncpg.Pool]
) -> None:
    settings, pool = crawler
    async with FixtureSite(host="127.0.0.2", crawl_delay=0.1) as slow_site:
        crawl = await start_crawl(settings, {"seeds": [slow_site.url("/")], "options": NO_SITEMAPS})
        await wait_until(lambda: len(slow_site.access_log) >= 5, within=30, what="five fetches")
        await publish_direct(
            settings,
            [RunCancelled(tenant_id=crawl.tenant_id, run_id=crawl.run_id, cancelled_at=datetime.now(UTC))],
        )
        run = await wait_finished(pool, crawl)
        # Every fetch in flight when the cancellation arrived has been settled...
        await wait_until(
            lambda: pool.fetchval(
                "SELECT count(*) = 0 FROM frontier WHERE run_id = $1 AND state = 'leased'", crawl.run_id
            ),
            what="no URL of the cancelled run leased",
        )
        fetched_by_then = len(slow_site.access_log)
        # ...and a whole later crawl goes through the same workers, lease round after lease
        # round, while the cancelled run's queued URLs stay where they are.
        async with FixtureSite(host="127.0.0.2") as marker_site:
            marker = await start_crawl(
                settings,
                {"seeds": [marker_site.url("/")], "limits": {"max_pages": 10}, "options": NO_SITEMAPS},
            )
            assert (await wait_finished(pool, marker))["status"] == "completed"
        assert len(slow_site.access_log) == fetched_by_then
    assert run["status"] == "cancelled"
    states = await frontier(pool, crawl)
    assert any(state == "queued" for state, _ in states.values()), "the crawl should have been cut short"


async def test_deleting_a_run_removes_its_rows_and_the_objects_no_other_run_uses(
    crawler: tuple[Settings, asyncpg.Pool], site: FixtureSite
) -> None:
    settings, pool = crawler
    tenant_id = uuid4()
    doomed = await start_crawl(
        settings,
        {
            "seeds": [site.url("/about"), site.url("/notes.txt")],
            "limits": {"max_depth": 0},
            "options": NO_SITEMAPS,
        },
        tenant_id=tenant_id,
    )
    kept = await start_crawl(
        settings,
        {"seeds": [site.url("/about")], "limits": {"max_depth": 0}, "options": NO_SITEMAPS},
        tenant_id=tenant_id,
    )
    await wait_finished(pool, doomed)
    await wait_finished(pool, kept)
    keys = {
        row["url"].removeprefix(site.base_url): row["s3_key"]
        for row in await pool.fetch("SELECT url, s3_key FROM pages WHERE run_id = $1", doomed.run_id)
    }

    await publish_direct(
        settings, [RunDeleted(tenant_id=doomed.tenant_id, run_id=doomed.run_id, deleted_at=datetime.now(UTC))]
    )

    async def gone() -> bool:
        return await pool.fetchval("SELECT count(*) FROM crawl_runs WHERE run_id = $1", doomed.run_id) == 0

    await wait_until(gone, within=30)
    for table in ("frontier", "pages", "images"):
        assert await pool.fetchval(f"SELECT count(*) FROM {table} WHERE run_id = $1", doomed.run_id) == 0
    async with ObjectStore.from_settings(settings) as objects:
        assert not await objects.exists(keys["/notes.txt"])
        kept_keys = await pool.fetch("SELECT url, s3_key FROM pages WHERE run_id = $1", kept.run_id)
        assert await objects.exists(keys["/about"]), (keys, [dict(r) for r in kept_keys])
    assert await pool.fetchval("SELECT count(*) FROM pages WHERE run_id = $1", kept.run_id) == 1


async def test_the_ssrf_guard_refuses_private_addresses_after_resolution_and_on_redirects(
    crawler: tuple[Settings, asyncpg.Pool], site: FixtureSite
) -> None:
    settings, pool = crawler
    port = site.port
    crawl = await start_crawl(
        settings,
        {
            "seeds": [
                site.url("/redirect/to-loopback"),  # 127.0.0.2 (allowed) -> 127.0.0.1 (not)
                f"http://127.0.0.1:{port}/about",
                f"http://localhost:{port}/about",  # a name that resolves to loopback
                f"http://[::ffff:127.0.0.1]:{port}/about",
                "http://169.254.169.254/latest/meta-data/",
            ],
            "scope": {"same_registered_domain": False},
            "limits": {"max_depth": 0, "max_retries": 0},
            "options": NO_SITEMAPS,
        },
    )
    await wait_finished(pool, crawl)
    states = await frontier(pool, crawl)
    assert {url: state for url, (state, _) in states.items()} == dict.fromkeys(states, "failed")
    assert {reason for _, reason in states.values()} == {"ssrf"}
    assert len(states) == 5  # (other spellings of addresses: tests/unit/crawler/test_ssrf.py)
    assert [record.path for record in site.access_log if record.path != "/robots.txt"] == [
        "/redirect/to-loopback"
    ]


async def test_pagination_by_url_pattern_and_by_next_button(
    crawler: tuple[Settings, asyncpg.Pool], site: FixtureSite
) -> None:
    settings, pool = crawler
    common: dict[str, Any] = {"limits": {"max_depth": 0}, "options": NO_SITEMAPS}
    by_404 = await start_crawl(
        settings,
        {
            "seeds": [site.url("/list?page=1")],
            "pagination": {"type": "url_pattern", "url_template": site.url("/list?page={page}")},
            **common,
        },
    )
    by_repeat = await start_crawl(
        settings,
        {
            "seeds": [site.url("/feed?page=1")],
            "pagination": {"type": "url_pattern", "url_template": site.url("/feed?page={page}")},
            **common,
        },
    )
    by_button = await start_crawl(
        settings,
        {
            "seeds": [site.url("/catalog/1")],
            "pagination": {"type": "next_button", "next_selector": "div.pager a.next"},
            **common,
        },
    )
    for crawl in (by_404, by_repeat, by_button):
        await wait_finished(pool, crawl)

    assert _by_path(site, await frontier(pool, by_404)) == {
        "/list?page=1": ("fetched", None),
        "/list?page=2": ("fetched", None),
        "/list?page=3": ("fetched", None),
        "/list?page=4": ("failed", "http_404"),
    }
    assert _by_path(site, await frontier(pool, by_repeat)) == {
        "/feed?page=1": ("fetched", None),
        "/feed?page=2": ("fetched", None),
        "/feed?page=3": ("skipped", "pagination_repeat"),
    }
    assert _by_path(site, await frontier(pool, by_button)) == {
        f"/catalog/{n}": ("fetched", None) for n in (1, 2, 3)
    }


async def test_an_image_job_records_every_image_and_keeps_those_its_limits_allow(
    crawler: tuple[Settings, asyncpg.Pool], site: FixtureSite
) -> None:
    settings, pool = crawler
    crawl = await start_crawl(
        settings,
        {
            "kind": "images",
            "seeds": [site.url("/gallery")],
            "limits": {"max_depth": 1, "min_image_width": 100, "image_formats": ["png", "jpeg", "webp"]},
            "options": NO_SITEMAPS,
        },
    )
    run = await wait_finished(pool, crawl)
    rows = await pool.fetch(
        "SELECT url, width, height, format, s3_key, skipped FROM images WHERE run_id = $1", crawl.run_id
    )
    images = {
        row["url"].removeprefix(site.base_url): (row["skipped"], row["s3_key"] is not None) for row in rows
    }
    assert images == {
        "/images/tiny.png": ("too_small", False),
        "/images/banner.png": (None, True),
        "/images/photo.jpg": (None, True),
        "/images/thumb.jpg": ("too_small", False),
        "/images/anim.gif": ("format_not_allowed", False),
        "/images/photo.webp": (None, True),
        "/images/icon.webp": ("too_small", False),
    }
    assert run["images_stored"] == 3
    assert canonical_url(site.url("/gallery")) in {canonical_url(row) for row in await frontier(pool, crawl)}
    assert {(row["width"], row["height"]) for row in rows if row["url"].endswith("/banner.png")} == {
        (1200, 300)
    }


async def test_a_slow_host_does_not_starve_the_others(settings: Settings) -> None:
    async with (
        running_crawler(crawler_settings(settings, allowed="127.0.0.0/8")) as runtime,
        FixtureSite(host="127.0.0.3", crawl_delay=1.0) as slow,
        FixtureSite(host="127.0.0.4", crawl_delay=0) as fast,
    ):
        assert runtime.pool is not None
        crawl = await start_crawl(
            settings,
            {
                "seeds": [slow.url("/"), fast.url("/")],
                "limits": {"max_depth": 1, "request_timeout_seconds": 1, "max_retries": 0},
                "options": NO_SITEMAPS,
            },
        )
        await wait_until(
            lambda: len(fast.access_log) >= 20 and len(slow.access_log) >= 6,
            within=60,
            what="both hosts fetched",
        )
        await publish_direct(
            settings,
            [RunCancelled(tenant_id=crawl.tenant_id, run_id=crawl.run_id, cancelled_at=datetime.now(UTC))],
        )
    slow_sixth = sorted(record.time for record in slow.access_log)[5]
    fast_meanwhile = sum(1 for record in fast.access_log if record.time < slow_sixth)
    # The slow host takes one request a second (its Crawl-delay); had the fast host waited
    # behind it, it would have had about as many by then. It had at least twice as many.
    assert fast_meanwhile >= 12, fast_meanwhile


async def test_timeouts_are_retried_then_recorded_as_failures(
    crawler: tuple[Settings, asyncpg.Pool], site: FixtureSite
) -> None:
    settings, pool = crawler
    crawl = await start_crawl(
        settings,
        {
            "seeds": [site.url("/slow"), site.url("/about")],
            "limits": {"max_depth": 0, "request_timeout_seconds": 0.5, "max_retries": 1},
            "options": NO_SITEMAPS,
        },
    )
    run = await wait_finished(pool, crawl)
    assert _by_path(site, await frontier(pool, crawl)) == {
        "/slow": ("failed", "retries_exhausted"),
        "/about": ("fetched", None),
    }
    # The site logs a request when its response goes out, slow_seconds after it came in.
    await wait_until(lambda: len(site.requests_for("/slow")) >= 2, within=site.slow_seconds + 30)
    assert len(site.requests_for("/slow")) == 2
    assert run["error_count"] == 1


async def test_max_pages_stops_the_crawl_at_exactly_that_many_pages(
    crawler: tuple[Settings, asyncpg.Pool], site: FixtureSite
) -> None:
    settings, pool = crawler
    crawl = await start_crawl(settings, {"seeds": [site.url("/")], "limits": {"max_pages": 5}})
    run = await wait_finished(pool, crawl)
    assert run["status"] == "completed"
    assert await pool.fetchval("SELECT count(*) FROM pages WHERE run_id = $1", crawl.run_id) == 5
    states = await frontier(pool, crawl)
    assert {outcome for outcome in states.values() if outcome[0] not in ("fetched", "failed")} <= {
        ("skipped", "max_pages"),
        ("skipped", "robots"),
    }
    assert ("skipped", "max_pages") in states.values()


async def test_a_seed_under_a_path_finds_the_sitemap_in_its_directory(
    crawler: tuple[Settings, asyncpg.Pool], site: FixtureSite
) -> None:
    settings, pool = crawler
    crawl = await start_crawl(settings, {"seeds": [site.url("/blog/")], "limits": {"max_depth": 1}})
    run = await wait_finished(pool, crawl)
    assert run["status"] == "completed"
    states = _by_path(site, await frontier(pool, crawl))
    # The posts are linked from nowhere: only /blog/sitemap.xml lists them.
    assert states["/blog/sitemap.xml"] == ("fetched", None)
    assert states["/blog/post-1"] == states["/blog/post-2"] == ("fetched", None)
    assert site.foreign_sitemap not in states and not any("127.0.0.3" in url for url in states)
