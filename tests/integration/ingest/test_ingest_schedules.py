"""Two ingest replicas firing schedules over a simulated hour: one run per fire, and missed
fires after downtime run once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.ingest.scheduler import fire_due_schedules
from shared.db import create_pool
from shared.uow import Database
from tests.integration.ingest.conftest import Api

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_two_replicas_start_exactly_one_run_per_fire(api: Api) -> None:
    acme = await api.tenant()
    job = (
        await acme.client.post(
            "/v1/jobs", json={"seeds": ["https://example.com/"], "schedule_cron": "*/5 * * * *"}
        )
    ).json()
    async with api.pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET next_fire_at = $1 WHERE id = $2", START, job["id"])
    settings = api.runtime.settings
    pools = [await create_pool(settings, "ingest"), await create_pool(settings, "ingest")]
    replicas = [Database(pool, service="ingest", topic_prefix=settings.topic_prefix) for pool in pools]
    try:
        started = 0
        # Both replicas wake every 20 simulated seconds for an hour, racing each other.
        for step in range(0, 3600, 20):
            now = START + timedelta(seconds=step)
            results = await asyncio.gather(*(fire_due_schedules(db, now) for db in replicas))
            started += sum(results)
        fires = await api.pool.fetch(
            "SELECT scheduled_for FROM runs WHERE job_id = $1 ORDER BY scheduled_for", job["id"]
        )
        expected = [START + timedelta(minutes=5 * n) for n in range(12)]
        assert [row["scheduled_for"] for row in fires] == expected
        assert started == 12

        # Ingest was down for three hours: the missed fires run once, not 36 times.
        after_downtime = START + timedelta(hours=4, minutes=2)
        results = await asyncio.gather(*(fire_due_schedules(db, after_downtime) for db in replicas))
        assert sum(results) == 1
        latest = await api.pool.fetchval("SELECT max(scheduled_for) FROM runs WHERE job_id = $1", job["id"])
        assert latest == START + timedelta(hours=4)
        assert await api.pool.fetchval(
            "SELECT next_fire_at FROM jobs WHERE id = $1", job["id"]
        ) == START + timedelta(hours=4, minutes=5)
    finally:
        for pool in pools:
            await pool.close()
