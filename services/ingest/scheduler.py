"""Scheduled jobs: each fire becomes exactly one run, however many ingest replicas run.

A replica locks the due jobs (`FOR UPDATE SKIP LOCKED`: the others pass them by), starts one
run per job for its latest missed fire, and moves the job's next fire past now; the unique
(job_id, scheduled_for) key makes a second run for the same fire impossible even so.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg

from services.ingest import commands, store
from services.ingest.domain.schedules import due
from shared.config import Settings
from shared.events import JobConfig
from shared.outbox import Outbox
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)

_BATCH = 100


async def fire_due_schedules(pool: asyncpg.Pool, settings: Settings, now: datetime) -> int:
    """Start the runs due at `now`; returns how many were started."""
    started = 0
    async with pool.acquire() as conn, conn.transaction():
        outbox = Outbox(conn, source="ingest", topic_prefix=settings.topic_prefix)
        for job in await store.lock_due_jobs(conn, now=now, limit=_BATCH):
            fire = due(job["schedule_cron"], job["schedule_timezone"], job["next_fire_at"], now)
            if fire is None:
                continue
            await store.set_next_fire(
                conn, tenant_id=job["tenant_id"], job_id=job["id"], next_fire_at=fire.next_fire_at
            )
            if (exceeded := await commands.quota_problem(conn, tenant_id=job["tenant_id"])) is not None:
                log.warning(
                    "scheduled fire %s of job %s skipped: %s", fire.fire_at, job["id"], exceeded.reason
                )
                continue
            run = await commands.start_run(
                conn,
                outbox,
                tenant_id=job["tenant_id"],
                job_id=job["id"],
                config=JobConfig.model_validate(job["config"]),
                idempotency_key=None,
                trigger="schedule",
                scheduled_for=fire.fire_at,
            )
            started += run.created
    return started


async def schedule_runs(runtime: ServiceRuntime) -> None:
    """The ingest worker that fires schedules, every `schedule_poll_seconds`."""
    assert runtime.pool is not None
    while True:
        await fire_due_schedules(runtime.pool, runtime.settings, datetime.now(UTC))
        await asyncio.sleep(runtime.settings.schedule_poll_seconds)
