"""Cancellation and deletion hold whatever order the events arrive in: a RunCancelled or
RunDeleted that comes before its run's JobCreated (they travel on other topics), or a
JobCreated replayed after them, starts nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from shared.config import Settings
from shared.events import Event, JobConfig, JobCreated, RunCancelled, RunDeleted
from shared.producer import publish_direct
from tests.integration.crawler.conftest import crawler_settings, running_crawler
from tests.sites.fixture_site import FixtureSite
from tests.support import consumed_everything

pytestmark = pytest.mark.integration


async def _fate_first(settings: Settings, fate: type[Event]) -> tuple[Any, Any, list[Any]]:
    settings = crawler_settings(settings, allowed="127.0.0.0/8")
    async with FixtureSite(host="127.0.0.2", crawl_delay=0) as site, running_crawler(settings) as runtime:
        assert runtime.pool is not None
        tenant_id, run_id, now = uuid4(), uuid4(), datetime.now(UTC)
        early = (
            RunCancelled(tenant_id=tenant_id, run_id=run_id, cancelled_at=now)
            if fate is RunCancelled
            else RunDeleted(tenant_id=tenant_id, run_id=run_id, deleted_at=now)
        )
        await publish_direct(settings, [early])
        await consumed_everything(settings, "crawler", [fate])
        config = JobConfig.model_validate({"seeds": [site.url("/")], "limits": {"max_pages": 5}})
        created = JobCreated(
            tenant_id=tenant_id, job_id=uuid4(), run_id=run_id, config=config, created_at=now
        )
        await publish_direct(settings, [created])
        await consumed_everything(settings, "crawler", [JobCreated])
        config_row = await runtime.pool.fetchrow("SELECT status FROM run_configs WHERE run_id = $1", run_id)
        crawl_run = await runtime.pool.fetchrow("SELECT status FROM crawl_runs WHERE run_id = $1", run_id)
        fetched = list(site.access_log)
    return config_row, crawl_run, fetched


async def test_a_run_cancelled_before_its_job_created_is_never_crawled(settings: Settings) -> None:
    config, crawl_run, fetched = await _fate_first(settings, RunCancelled)
    assert config is not None and config["status"] == "cancelled"
    assert crawl_run is None
    assert fetched == []


async def test_a_run_deleted_before_its_job_created_is_never_crawled(settings: Settings) -> None:
    config, crawl_run, fetched = await _fate_first(settings, RunDeleted)
    assert config is None and crawl_run is None
    assert fetched == []
