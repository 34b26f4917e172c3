"""Each service's own record of the runs it takes part in (table `run_configs`).

JobCreated carries the whole job configuration; services keep it so their later handlers
can look it up without asking anyone. Cancellation and deletion are honoured the same way
by every service, so their handlers live here too.
"""

from __future__ import annotations

from uuid import UUID

from shared.consumer import HandlerContext
from shared.db import Connection
from shared.events import JobConfig, JobCreated, RunCancelled, RunDeleted


async def remember_run(conn: Connection, event: JobCreated) -> bool:
    """False when the run was already known."""
    inserted = await conn.fetchval(
        """INSERT INTO run_configs (run_id, tenant_id, job_id, config) VALUES ($1, $2, $3, $4)
           ON CONFLICT (run_id) DO NOTHING RETURNING true""",
        event.run_id,
        event.tenant_id,
        event.job_id,
        event.config.model_dump(mode="json"),
    )
    return bool(inserted)


async def run_config(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> JobConfig | None:
    raw = await conn.fetchval(
        "SELECT config FROM run_configs WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id
    )
    return None if raw is None else JobConfig.model_validate(raw)


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


async def on_run_cancelled(ctx: HandlerContext, event: RunCancelled) -> None:
    await set_run_status(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, status="cancelled")


async def forget_run(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> None:
    """Rows of the run go with it; services' own tables reference run_configs ON DELETE CASCADE."""
    await conn.execute("DELETE FROM run_configs WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id)


async def on_run_deleted(ctx: HandlerContext, event: RunDeleted) -> None:
    await forget_run(ctx.conn, tenant_id=event.tenant_id, run_id=event.run_id)
