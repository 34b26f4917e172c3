"""Projects' status and deletion, their activity feed, and validation jobs' read model."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.ingest.store.rows import Row, row_or_none
from shared.db import Connection


async def update_project(
    conn: Connection, *, tenant_id: UUID, project_id: UUID, **changes: Any
) -> Row | None:
    """Set the given columns (name, description, status); None when there is no such project."""
    assignments = ", ".join(f"{column} = ${index}" for index, column in enumerate(changes, start=3))
    return row_or_none(
        await conn.fetchrow(
            f"""UPDATE projects SET {assignments}, updated_at = now()
                 WHERE tenant_id = $1 AND id = $2 RETURNING *""",
            tenant_id,
            project_id,
            *changes.values(),
        )
    )


async def project_jobs(conn: Connection, *, tenant_id: UUID, project_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT id FROM jobs WHERE tenant_id = $1 AND project_id = $2 FOR UPDATE", tenant_id, project_id
    )
    return [row["id"] for row in rows]


async def delete_project(conn: Connection, *, tenant_id: UUID, project_id: UUID) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM projects WHERE tenant_id = $1 AND id = $2 RETURNING true", tenant_id, project_id
    )
    return bool(deleted)


_PROJECT_OF = {
    "projects": "SELECT tenant_id, id AS project_id FROM projects WHERE id = $1",
    "jobs": "SELECT tenant_id, project_id FROM jobs WHERE id = $1",
    "runs": "SELECT j.tenant_id, j.project_id FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.id = $1",
}


async def project_of(conn: Connection, *, kind: str, resource_id: UUID) -> tuple[UUID, UUID] | None:
    """(tenant, project) of a project, job or run (`kind`), for the audit log: the caller's
    tenant is checked against it before it is recorded."""
    row = await conn.fetchrow(_PROJECT_OF[kind], resource_id)
    if row is None or row["project_id"] is None:
        return None
    return row["tenant_id"], row["project_id"]


async def project_activity(
    conn: Connection, *, tenant_id: UUID, project_id: UUID, before: datetime | None, limit: int
) -> list[Row]:
    """The project's feed, newest first: what its users did (the audit log), and what happened
    to its runs — started, ended — and to their validations."""
    rows = await conn.fetch(
        """WITH project_runs AS (
               SELECT r.* FROM runs r JOIN jobs j ON j.id = r.job_id
                WHERE j.tenant_id = $1 AND j.project_id = $2),
           feed AS (
               SELECT a.at, 'user' AS source, a.action AS kind, a.resource, a.actor,
                      jsonb_build_object('status', a.status, 'request_id', a.request_id) AS detail
                 FROM audit_log a WHERE a.tenant_id = $1 AND a.project_id = $2
               UNION ALL
               SELECT coalesce(r.started_at, r.created_at), 'system', 'run.started',
                      '/v1/runs/' || r.id, NULL, jsonb_build_object('run_id', r.id, 'job_id', r.job_id)
                 FROM project_runs r
               UNION ALL
               SELECT r.finished_at, 'system', 'run.' || r.status, '/v1/runs/' || r.id, NULL,
                      jsonb_build_object('run_id', r.id, 'job_id', r.job_id)
                 FROM project_runs r WHERE r.finished_at IS NOT NULL
               UNION ALL
               SELECT v.completed_at, 'system', 'validation.' || v.status, '/v1/validations/' || v.id, NULL,
                      jsonb_build_object('validation_id', v.id, 'run_id', v.run_id, 'total', v.total,
                                         'invalid', v.invalid)
                 FROM validations v JOIN project_runs r ON r.id = v.run_id WHERE v.completed_at IS NOT NULL)
           SELECT * FROM feed WHERE $3::timestamptz IS NULL OR at < $3 ORDER BY at DESC LIMIT $4""",
        tenant_id,
        project_id,
        before,
        limit,
    )
    return [dict(row) for row in rows]


async def create_validation(
    conn: Connection, *, validation_id: UUID, tenant_id: UUID, run_id: UUID, name: str, rules: dict[str, Any]
) -> Row:
    row = await conn.fetchrow(
        """INSERT INTO validations (id, tenant_id, run_id, name, rules) VALUES ($1, $2, $3, $4, $5)
        RETURNING *""",
        validation_id,
        tenant_id,
        run_id,
        name,
        rules,
    )
    assert row is not None
    return dict(row)


async def get_validation(conn: Connection, *, tenant_id: UUID, validation_id: UUID) -> Row | None:
    return row_or_none(
        await conn.fetchrow(
            "SELECT * FROM validations WHERE tenant_id = $1 AND id = $2", tenant_id, validation_id
        )
    )


async def run_validations(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> list[Row]:
    rows = await conn.fetch(
        "SELECT * FROM validations WHERE tenant_id = $1 AND run_id = $2 ORDER BY created_at DESC",
        tenant_id,
        run_id,
    )
    return [dict(row) for row in rows]


async def note_validation_progress(
    conn: Connection, *, tenant_id: UUID, validation_id: UUID, **state: Any
) -> None:
    """Apply a ValidationProgressed; an older report (fewer images judged) never undoes a newer."""
    await conn.execute(
        """UPDATE validations
              SET status = CASE WHEN status IN ('completed', 'failed') THEN status ELSE $3 END,
                  total = $4, validated = greatest(validated, $5), invalid = greatest(invalid, $6),
                  reasons = CASE WHEN $5 >= validated THEN $7 ELSE reasons END,
                  error_message = coalesce($8, error_message), started_at = coalesce(started_at, $9),
                  completed_at = coalesce(completed_at, $10), updated_at = now()
            WHERE tenant_id = $1 AND id = $2""",
        tenant_id,
        validation_id,
        state["status"],
        state["total"],
        state["validated"],
        state["invalid"],
        state["reasons"],
        state["error_message"],
        state["started_at"],
        state["completed_at"],
    )
