"""Projects, extractor schemas and jobs (with their schedules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.ingest.store.rows import Row, row_or_none
from shared.db import Connection
from shared.events import JobConfig

# --- projects and extractor schemas ---------------------------------------------------------


async def create_project(
    conn: Connection, *, project_id: UUID, tenant_id: UUID, name: str, description: str
) -> Row:
    row = await conn.fetchrow(
        "INSERT INTO projects (id, tenant_id, name, description) VALUES ($1, $2, $3, $4) RETURNING *",
        project_id,
        tenant_id,
        name,
        description,
    )
    assert row is not None
    return dict(row)


async def get_project(conn: Connection, *, tenant_id: UUID, project_id: UUID) -> Row | None:
    return row_or_none(
        await conn.fetchrow("SELECT * FROM projects WHERE tenant_id = $1 AND id = $2", tenant_id, project_id)
    )


async def list_projects(conn: Connection, *, tenant_id: UUID) -> list[Row]:
    rows = await conn.fetch("SELECT * FROM projects WHERE tenant_id = $1 ORDER BY created_at DESC", tenant_id)
    return [dict(row) for row in rows]


async def create_extractor_schema(
    conn: Connection, *, tenant_id: UUID, schema_id: UUID, **fields: Any
) -> Row | None:
    """None when the tenant already has this name and version."""
    return row_or_none(
        await conn.fetchrow(
            """INSERT INTO extractor_schemas (id, tenant_id, name, version, definition,
                                              strict_validation, allow_extra_fields, is_public)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (tenant_id, name, version) DO NOTHING RETURNING *""",
            schema_id,
            tenant_id,
            fields["name"],
            fields["version"],
            fields["definition"],
            fields["strict_validation"],
            fields["allow_extra_fields"],
            fields["is_public"],
        )
    )


async def visible_extractor_schema(conn: Connection, *, tenant_id: UUID, schema_id: UUID) -> Row | None:
    """The tenant's own schema, or another tenant's public one."""
    return row_or_none(
        await conn.fetchrow(
            "SELECT * FROM extractor_schemas WHERE id = $2 AND (tenant_id = $1 OR is_public)",
            tenant_id,
            schema_id,
        )
    )


async def list_extractor_schemas(conn: Connection, *, tenant_id: UUID) -> list[Row]:
    rows = await conn.fetch(
        """SELECT * FROM extractor_schemas WHERE tenant_id = $1 OR is_public
            ORDER BY name, version""",
        tenant_id,
    )
    return [dict(row) for row in rows]


async def delete_extractor_schema(conn: Connection, *, tenant_id: UUID, schema_id: UUID) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM extractor_schemas WHERE tenant_id = $1 AND id = $2 RETURNING true", tenant_id, schema_id
    )
    return bool(deleted)


# --- jobs -------------------------------------------------------------------------------------


async def upsert_job(
    conn: Connection,
    *,
    job_id: UUID,
    tenant_id: UUID,
    config: JobConfig,
    extractor_schema_id: UUID | None = None,
    next_fire_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> bool:
    """Create the job, or update it when the tenant already has it; False when the id is
    another tenant's."""
    schedule = config.schedule
    stored = await conn.fetchval(
        """INSERT INTO jobs (id, tenant_id, kind, name, config, project_id, extractor_schema_id,
                             schedule_cron, schedule_timezone, next_fire_at, idempotency_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, name = EXCLUDED.name,
                  kind = EXCLUDED.kind, project_id = EXCLUDED.project_id,
                  extractor_schema_id = EXCLUDED.extractor_schema_id,
                  schedule_cron = EXCLUDED.schedule_cron, schedule_timezone = EXCLUDED.schedule_timezone,
                  next_fire_at = EXCLUDED.next_fire_at, updated_at = now()
            WHERE jobs.tenant_id = EXCLUDED.tenant_id
           RETURNING true""",
        job_id,
        tenant_id,
        config.kind.value,
        config.name,
        config.model_dump(mode="json"),
        config.project_id,
        extractor_schema_id,
        schedule.cron if schedule else None,
        schedule.timezone if schedule else None,
        next_fire_at,
        idempotency_key,
    )
    return bool(stored)


async def set_job_config(conn: Connection, *, tenant_id: UUID, job_id: UUID, config: JobConfig) -> None:
    """A new configuration of the same job (what its next runs do)."""
    await conn.execute(
        "UPDATE jobs SET config = $3, updated_at = now() WHERE id = $1 AND tenant_id = $2",
        job_id,
        tenant_id,
        config.model_dump(mode="json"),
    )


async def job_by_idempotency_key(conn: Connection, *, tenant_id: UUID, idempotency_key: str) -> Row | None:
    return row_or_none(
        await conn.fetchrow(
            "SELECT * FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2", tenant_id, idempotency_key
        )
    )


async def get_job(conn: Connection, *, tenant_id: UUID, job_id: UUID) -> Row | None:
    return row_or_none(
        await conn.fetchrow("SELECT * FROM jobs WHERE tenant_id = $1 AND id = $2", tenant_id, job_id)
    )


async def list_jobs(conn: Connection, *, tenant_id: UUID, project_id: UUID | None, limit: int) -> list[Row]:
    rows = await conn.fetch(
        """SELECT * FROM jobs WHERE tenant_id = $1 AND ($2::uuid IS NULL OR project_id = $2)
            ORDER BY created_at DESC LIMIT $3""",
        tenant_id,
        project_id,
        limit,
    )
    return [dict(row) for row in rows]


async def delete_job(conn: Connection, *, tenant_id: UUID, job_id: UUID) -> list[UUID] | None:
    """Deletes the job and its runs; returns the deleted runs' ids (None: no such job)."""
    runs = await conn.fetch("SELECT id FROM runs WHERE tenant_id = $1 AND job_id = $2", tenant_id, job_id)
    deleted = await conn.fetchval(
        "DELETE FROM jobs WHERE tenant_id = $1 AND id = $2 RETURNING true", tenant_id, job_id
    )
    return [row["id"] for row in runs] if deleted else None


async def lock_due_jobs(conn: Connection, *, now: datetime, limit: int) -> list[Row]:
    """Scheduled jobs whose next fire has come, locked; other replicas skip them."""
    rows = await conn.fetch(
        """SELECT * FROM jobs WHERE next_fire_at IS NOT NULL AND next_fire_at <= $1
            ORDER BY next_fire_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
        now,
        limit,
    )
    return [dict(row) for row in rows]


async def set_next_fire(conn: Connection, *, tenant_id: UUID, job_id: UUID, next_fire_at: datetime) -> None:
    await conn.execute(
        "UPDATE jobs SET next_fire_at = $3 WHERE tenant_id = $1 AND id = $2", tenant_id, job_id, next_fire_at
    )
