"""Scheduled jobs: each fire becomes exactly one run, however many ingest replicas run.

A replica locks the due jobs (`FOR UPDATE SKIP LOCKED`: the others pass them by), starts one
run per job for its latest missed fire, and moves the job's next fire past now; the unique
(job_id, scheduled_for) key makes a second run for the same fire impossible even so.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from services.ingest import commands, store
from services.ingest.domain.schedules import due
from shared.events import JobConfig
from shared.service import ServiceRuntime
from shared.uow import Database

log = logging.getLogger(__name__)

_BATCH = 100


async def fire_due_schedules(db: Database, now: datetime) -> int:
    """Start the runs due at `now`; returns how many were started."""
    started = 0
    async with db.unit_of_work() as uow:
        for job in await store.lock_due_jobs(uow.conn, now=now, limit=_BATCH):
            fire = due(job["schedule_cron"], job["schedule_timezone"], job["next_fire_at"], now)
            if fire is None:
                continue
            await store.set_next_fire(
                uow.conn, tenant_id=job["tenant_id"], job_id=job["id"], next_fire_at=fire.next_fire_at
            )
            run = await commands.start_run(
                uow,
                commands.RunRequest(
                    tenant_id=job["tenant_id"],
                    trigger="schedule",
                    job_id=job["id"],
                    config=JobConfig.model_validate(job["config"]),
                    scheduled_for=fire.fire_at,
                ),
            )
            if run.refused is not None:
                log.warning(
                    "scheduled fire %s of job %s skipped: %s", fire.fire_at, job["id"], run.refused.reason
                )
            started += run.created
    return started


async def schedule_runs(runtime: ServiceRuntime) -> None:
    """The ingest worker that fires schedules, every `schedule_poll_seconds`."""
    db = runtime.resources.get(Database)
    while True:
        await fire_due_schedules(db, datetime.now(UTC))
        await asyncio.sleep(runtime.settings.schedule_poll_seconds)
