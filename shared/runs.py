"""Each service's own record of the runs it takes part in (table `run_configs`).

JobCreated carries the whole job configuration; services keep it so their later handlers
can look it up without asking anyone. Cancellation and deletion are honoured the same way
by every service, so their handlers live here too — whatever order the events arrive in: a
run's fate (`run_fates`) is kept when RunCancelled or RunDeleted comes before its JobCreated,
and a JobCreated that comes after them (late, or replayed) starts nothing.
"""

from __future__ import annotations

from uuid import UUID

from shared.consumer import HandlerContext
from shared.db import Connection
from shared.events import JobConfig, JobCreated, RunCancelled, RunDeleted


async def remember_run(conn: Connection, event: JobCreated) -> bool:
    """True when the run is new and is to be worked on; False when it was already known, or
    was cancelled or deleted before (a cancelled run is remembered as such, for what its
    configuration says; a deleted one is not)."""
    fate = await run_fate(conn, run_id=event.run_id, tenant_id=event.tenant_id)
    if fate == "deleted":
        return False
    inserted = await conn.fetchval(
        """INSERT INTO run_configs (run_id, tenant_id, job_id, config, status) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (run_id) DO NOTHING RETURNING true""",
        event.run_id,
        event.tenant_id,
        event.job_id,
        event.config.model_dump(mode="json"),
        "cancelled" if fate == "cancelled" else "running",
    )
    return bool(inserted) and fate is None


async def record_fate(conn: Connection, *, run_id: UUID, tenant_id: UUID, fate: str) -> None:
    """Deletion outranks cancellation: a run deleted, then cancelled by a late event, stays deleted."""
    await conn.execute(
        """INSERT INTO run_fates (run_id, tenant_id, fate) VALUES ($1, $2, $3)
           ON CONFLICT (run_id) DO UPDATE
              SET fate = CASE WHEN run_fates.fate = 'deleted' THEN 'deleted' ELSE EXCLUDED.fate END""",
        run_id,
        tenant_id,
        fate,
    )


async def run_fate(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> str | None:
    """What became of a run this service knew ("deleted", ...), or None."""
    fate: str | None = await conn.fetchval(
        "SELECT fate FROM run_fates WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id
    )
    return fate


async def run_config(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> JobConfig | None:
    raw = await conn.fetchval(
        "SELECT config FROM run_configs WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id
    )
    return None if raw is None else JobConfig.model_validate(raw)


async def run_job(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> UUID | None:
    job_id: UUID | None = await conn.fetchval(
        "SELECT job_id FROM run_configs WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id
    )
    return job_id


async def run_status(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> str | None:
    status: str | None = await conn.fetchval(
        "SELECT status FROM run_configs WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id
    )
    return status


async def set_run_status(conn: Connection, *, run_id: UUID, tenant_id: UUID, status: str) -> None:
    await conn.execute(
        "UPDATE run_configs SET status = $3, updated_at = now() WHERE run_id = $1 AND tenant_id = $2",
        run_id,
        tenant_id,
        status,
    )


async def cancel_run(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> None:
    await record_fate(conn, run_id=run_id, tenant_id=tenant_id, fate="cancelled")
    await set_run_status(conn, run_id=run_id, tenant_id=tenant_id, status="cancelled")


async def on_run_cancelled(ctx: HandlerContext, event: RunCancelled) -> None:
    await cancel_run(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id)


async def forget_run(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> None:
    """Rows of the run go with it; services' own tables reference run_configs ON DELETE CASCADE."""
    await record_fate(conn, run_id=run_id, tenant_id=tenant_id, fate="deleted")
    await conn.execute("DELETE FROM run_configs WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id)


async def on_run_deleted(ctx: HandlerContext, event: RunDeleted) -> None:
    await forget_run(ctx.conn, tenant_id=event.tenant_id, run_id=event.run_id)
