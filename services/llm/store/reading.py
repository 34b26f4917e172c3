"""What the internal API reads: a tenant's sessions and tasks, newest first, by cursor."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from shared.db import Connection

_TASK_COLUMNS = """id, session_id, run_id, job_id, kind, query_name, product_hash, product_name, document_id,
    model, status, waiting_reason, error_class, error_message, attempts, prompt_tokens, completion_tokens,
    cost::float8 AS cost, cached, created_at, completed_at, s3_output_path"""


async def sessions(
    conn: Connection, *, tenant_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT s.id, s.run_id, s.job_id, s.kind, s.created_at,
                  COALESCE(jsonb_object_agg(c.status, c.n) FILTER (WHERE c.status IS NOT NULL), '{}')
                      AS tasks,
                  COALESCE(sum(c.prompt_tokens), 0)::int AS prompt_tokens,
                  COALESCE(sum(c.completion_tokens), 0)::int AS completion_tokens,
                  COALESCE(sum(c.cost), 0)::float8 AS cost
             FROM llm_sessions s
             LEFT JOIN LATERAL (
                  SELECT status, count(*) AS n, sum(prompt_tokens) AS prompt_tokens,
                         sum(completion_tokens) AS completion_tokens, sum(cost) AS cost
                    FROM llm_tasks WHERE session_id = s.id GROUP BY status) c ON true
            WHERE s.tenant_id = $1 AND ($2::timestamptz IS NULL OR (s.created_at, s.id) < ($2, $3))
            GROUP BY s.id ORDER BY s.created_at DESC, s.id DESC LIMIT $4""",
        tenant_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return rows


async def session_exists(conn: Connection, *, tenant_id: UUID, session_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM llm_sessions WHERE id = $1 AND tenant_id = $2", session_id, tenant_id
        )
    )


async def session_tasks(
    conn: Connection,
    *,
    tenant_id: UUID,
    session_id: UUID,
    status: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {_TASK_COLUMNS} FROM llm_tasks
             WHERE tenant_id = $1 AND session_id = $2 AND ($3::text IS NULL OR status = $3)
               AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5))
             ORDER BY created_at, id LIMIT $6""",
        tenant_id,
        session_id,
        status,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return rows


async def task(conn: Connection, *, tenant_id: UUID, task_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_TASK_COLUMNS} FROM llm_tasks WHERE tenant_id = $1 AND id = $2", tenant_id, task_id
    )
    return row
