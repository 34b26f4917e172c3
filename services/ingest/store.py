"""The ingest service's SQL; nothing else touches its tables."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db import Connection
from shared.events import JobConfig

PROGRESS_COUNTERS = (
    "pages_fetched",
    "documents_indexed",
    "chunks_indexed",
    "items_extracted",
    "llm_tasks_done",
    "errors",
)


async def upsert_job(conn: Connection, *, job_id: UUID, tenant_id: UUID, config: JobConfig) -> None:
    await conn.execute(
        """INSERT INTO jobs (id, tenant_id, kind, name, config) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, name = EXCLUDED.name, updated_at = now()
           WHERE jobs.tenant_id = EXCLUDED.tenant_id""",
        job_id,
        tenant_id,
        config.kind.value,
        config.name,
        config.model_dump(mode="json"),
    )


async def job_tenant(conn: Connection, job_id: UUID) -> UUID | None:
    tenant: UUID | None = await conn.fetchval("SELECT tenant_id FROM jobs WHERE id = $1", job_id)
    return tenant


async def create_run(
    conn: Connection,
    *,
    run_id: UUID,
    tenant_id: UUID,
    job_id: UUID,
    submission_id: UUID | None,
    idempotency_key: str | None,
) -> tuple[UUID, bool]:
    """The run for this idempotency key: (id, created). An existing key returns its run."""
    created: UUID | None = await conn.fetchval(
        """INSERT INTO runs (id, tenant_id, job_id, submission_id, idempotency_key, status, started_at)
           VALUES ($1, $2, $3, $4, $5, 'running', now())
           ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id""",
        run_id,
        tenant_id,
        job_id,
        submission_id,
        idempotency_key,
    )
    if created is not None:
        await conn.execute("INSERT INTO run_progress (run_id, tenant_id) VALUES ($1, $2)", created, tenant_id)
        return created, True
    existing: UUID = await conn.fetchval(
        "SELECT id FROM runs WHERE tenant_id = $1 AND idempotency_key = $2", tenant_id, idempotency_key
    )
    return existing, False


async def record_rejection(
    conn: Connection, *, submission_id: UUID, tenant_id: UUID, reasons: list[str]
) -> None:
    await conn.execute(
        """INSERT INTO rejected_submissions (submission_id, tenant_id, reasons) VALUES ($1, $2, $3)
           ON CONFLICT (submission_id) DO NOTHING""",
        submission_id,
        tenant_id,
        reasons,
    )


async def add_progress(conn: Connection, *, run_id: UUID, tenant_id: UUID, **increments: int) -> None:
    unknown = set(increments) - set(PROGRESS_COUNTERS)
    if unknown:
        raise ValueError(f"unknown progress counters: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = {name} + ${index}" for index, name in enumerate(increments, start=3))
    await conn.execute(
        f"UPDATE run_progress SET {assignments}, updated_at = now() WHERE run_id = $1 AND tenant_id = $2",
        run_id,
        tenant_id,
        *increments.values(),
    )


async def mark_part_completed(conn: Connection, *, run_id: UUID, tenant_id: UUID, part: str) -> None:
    await conn.execute(
        """UPDATE run_progress SET parts_completed = array_append(parts_completed, $3), updated_at = now()
            WHERE run_id = $1 AND tenant_id = $2 AND NOT ($3 = ANY(parts_completed))""",
        run_id,
        tenant_id,
        part,
    )


async def set_run_status(conn: Connection, *, run_id: UUID, tenant_id: UUID, status: str) -> None:
    await conn.execute(
        """UPDATE runs SET status = $3,
                  finished_at = CASE WHEN $3 IN ('completed', 'failed', 'cancelled') THEN now() END
            WHERE id = $1 AND tenant_id = $2""",
        run_id,
        tenant_id,
        status,
    )


async def run_with_progress(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT r.*, p.pages_fetched, p.documents_indexed, p.chunks_indexed, p.items_extracted,
                  p.llm_tasks_done, p.errors, p.parts_completed
             FROM runs r LEFT JOIN run_progress p ON p.run_id = r.id
            WHERE r.id = $1 AND r.tenant_id = $2""",
        run_id,
        tenant_id,
    )
    return dict(row) if row is not None else None
