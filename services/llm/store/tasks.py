"""Queries, sessions and tasks: created, leased, finished, failed, retried."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from services.llm.domain.tasks import LeasedTask, NewTask, Query
from shared.db import Connection
from shared.events import ItemExtracted, LlmQuery


async def add_queries(
    conn: Connection, *, run_id: UUID, tenant_id: UUID, queries: Sequence[LlmQuery]
) -> None:
    await conn.executemany(
        """INSERT INTO queries (run_id, tenant_id, name, prompt, output_schema) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (run_id, name) DO NOTHING""",
        [(run_id, tenant_id, query.name, query.prompt, query.output_schema) for query in queries],
    )


async def active_queries(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> list[Query]:
    rows = await conn.fetch(
        """SELECT id, name, prompt, output_schema FROM queries
            WHERE run_id = $1 AND tenant_id = $2 AND is_active AND query_type = 'product' ORDER BY name""",
        run_id,
        tenant_id,
    )
    return [Query(row["id"], row["name"], row["prompt"], row["output_schema"]) for row in rows]


async def run_session(
    conn: Connection, *, session_id: UUID, tenant_id: UUID, run_id: UUID, job_id: UUID | None
) -> UUID:
    """The run's session, made by the first task that needs it."""
    found: UUID = await conn.fetchval(
        """INSERT INTO llm_sessions (id, tenant_id, run_id, job_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT (run_id) WHERE kind = 'run' DO UPDATE SET run_id = EXCLUDED.run_id RETURNING id""",
        session_id,
        tenant_id,
        run_id,
        job_id,
    )
    return found


async def on_demand_session(
    conn: Connection, *, session_id: UUID, tenant_id: UUID, run_id: UUID, job_id: UUID | None
) -> None:
    """The session a user's request named, made by its first task."""
    await conn.execute(
        """INSERT INTO llm_sessions (id, tenant_id, run_id, job_id, kind) VALUES ($1, $2, $3, $4, 'on_demand')
           ON CONFLICT (id) DO NOTHING""",
        session_id,
        tenant_id,
        run_id,
        job_id,
    )


async def insert_task(conn: Connection, task: NewTask, *, waiting_reason: str | None) -> bool:
    """Whether the task is new (the same dedupe key again is the same task)."""
    inserted = await conn.fetchval(
        """INSERT INTO llm_tasks (id, tenant_id, session_id, job_id, run_id, kind, dedupe_key, query_id,
                                  query_name, product_hash, product_name, document_id, request_id, prompt,
                                  output_schema, input, input_hash, model, cache_key, waiting_reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
           ON CONFLICT (tenant_id, dedupe_key) DO NOTHING RETURNING true""",
        task.id,
        task.tenant_id,
        task.session_id,
        task.job_id,
        task.run_id,
        task.kind,
        task.dedupe_key,
        task.query.id if task.query else None,
        task.query.name if task.query else None,
        task.product_hash,
        task.product_name,
        task.document_id,
        task.request_id,
        task.prompt,
        task.output_schema,
        task.input,
        task.input_hash,
        task.model,
        task.cache_key,
        waiting_reason,
    )
    return bool(inserted)


async def lease_tasks(
    conn: Connection, *, limit: int, lease_id: UUID, lease_seconds: float, now: datetime
) -> list[LeasedTask]:
    """Tasks due (new, waiting to retry, or held by a process whose lease ran out), taken for
    `lease_seconds`; each lease counts as an attempt."""
    rows = await conn.fetch(
        """UPDATE llm_tasks t
              SET status = 'running', lease_id = $1,
                  leased_until = $2::timestamptz + make_interval(secs => $3),
                  attempts = t.attempts + 1, waiting_reason = NULL
            WHERE t.id IN (
                  SELECT id FROM llm_tasks
                   WHERE ((status IN ('pending', 'retrying') AND next_attempt_at <= $2)
                          OR (status = 'running' AND leased_until < $2))
                   ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
        RETURNING t.*""",
        lease_id,
        now,
        lease_seconds,
        limit,
    )
    return [_leased(row) for row in rows]


async def cached_output(conn: Connection, *, tenant_id: UUID, cache_key: str) -> asyncpg.Record | None:
    """A completed task of the tenant that made the same call: its output is this one's."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT s3_output_path FROM llm_tasks
            WHERE tenant_id = $1 AND cache_key = $2 AND status = 'completed' AND s3_output_path IS NOT NULL
            ORDER BY completed_at LIMIT 1""",
        tenant_id,
        cache_key,
    )
    return row


async def complete_task(
    conn: Connection,
    task: LeasedTask,
    *,
    s3_output_path: str,
    prompt_tokens: int,
    completion_tokens: int,
    cost: float,
    cached: bool,
    now: datetime,
) -> bool:
    """Whether the task was still this process's to finish (a lease that ran out is not)."""
    done = await conn.fetchval(
        """UPDATE llm_tasks
              SET status = 'completed', s3_output_path = $3, prompt_tokens = prompt_tokens + $4,
                  completion_tokens = completion_tokens + $5, cost = cost + $6, cached = $7,
                  completed_at = $8,
                  lease_id = NULL, leased_until = NULL, error_class = NULL, error_message = NULL
            WHERE id = $1 AND lease_id = $2 AND status = 'running' RETURNING true""",
        task.id,
        task.lease_id,
        s3_output_path,
        prompt_tokens,
        completion_tokens,
        cost,
        cached,
        now,
    )
    return bool(done)


async def fail_attempt(
    conn: Connection,
    task: LeasedTask,
    *,
    error_class: str,
    failure_status: str,
    message: str,
    retry_at: datetime | None,
    prompt_tokens: int,
    completion_tokens: int,
    cost: float,
) -> bool:
    """Records the failure; the task waits for `retry_at`, or has failed for good without one."""
    updated = await conn.fetchval(
        """UPDATE llm_tasks
              SET status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'retrying' END,
                  next_attempt_at = COALESCE($3, next_attempt_at), error_class = $4, error_message = $5,
                  prompt_tokens = prompt_tokens + $6, completion_tokens = completion_tokens + $7,
                  cost = cost + $8,
                  lease_id = NULL, leased_until = NULL
            WHERE id = $1 AND lease_id = $2 AND status = 'running' RETURNING true""",
        task.id,
        task.lease_id,
        retry_at,
        error_class,
        message,
        prompt_tokens,
        completion_tokens,
        cost,
    )
    if not updated:
        return False
    await conn.execute(
        """INSERT INTO failed_tasks (task_id, tenant_id, session_id, job_id, query_id, model, status,
                                     error_class, error_message, retry_count)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        task.id,
        task.tenant_id,
        task.session_id,
        task.job_id,
        task.query_id,
        task.model,
        failure_status,
        error_class,
        message,
        task.attempts - 1,
    )
    return True


async def give_back(conn: Connection, task: LeasedTask, *, at: datetime, reason: str) -> None:
    """A task not attempted after all (the endpoint paused, no endpoint): it waits, its
    attempt uncounted."""
    await conn.execute(
        """UPDATE llm_tasks SET status = 'pending', attempts = attempts - 1, next_attempt_at = $3,
                  waiting_reason = $4, lease_id = NULL, leased_until = NULL
            WHERE id = $1 AND lease_id = $2 AND status = 'running'""",
        task.id,
        task.lease_id,
        at,
        reason,
    )


async def retry_failed(conn: Connection, *, tenant_id: UUID, session_id: UUID, now: datetime) -> int | None:
    """Puts the session's failed tasks (and only those) back to run; None: no such session."""
    if not await conn.fetchval(
        "SELECT true FROM llm_sessions WHERE id = $1 AND tenant_id = $2", session_id, tenant_id
    ):
        return None
    result: str = await conn.execute(
        """UPDATE llm_tasks SET status = 'pending', attempts = 0, next_attempt_at = $3, error_class = NULL,
                  error_message = NULL, waiting_reason = 'retry asked'
            WHERE session_id = $1 AND tenant_id = $2 AND status = 'failed'""",
        session_id,
        tenant_id,
        now,
    )
    return int(result.split()[-1])


async def note_waiting(conn: Connection, *, reason: str) -> None:
    """Why the tasks not yet run wait (no endpoint configured): shown with each of them."""
    await conn.execute(
        """UPDATE llm_tasks SET waiting_reason = $1
            WHERE status = 'pending' AND waiting_reason IS DISTINCT FROM $1""",
        reason,
    )


def _leased(row: asyncpg.Record) -> LeasedTask:
    return LeasedTask(
        id=row["id"],
        lease_id=row["lease_id"],
        tenant_id=row["tenant_id"],
        session_id=row["session_id"],
        job_id=row["job_id"],
        run_id=row["run_id"],
        kind=row["kind"],
        prompt=row["prompt"],
        output_schema=row["output_schema"],
        input=row["input"],
        model=row["model"],
        cache_key=row["cache_key"],
        attempts=row["attempts"],
        query_id=row["query_id"],
        query_name=row["query_name"],
        product_hash=row["product_hash"],
        document_id=row["document_id"],
        request_id=row["request_id"],
    )


async def outputs_only_this_run_references(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> list[str]:
    """The stored outputs of the run's tasks that no other run's task points at (a task
    answered from the cache shares the output of the task it repeats)."""
    rows = await conn.fetch(
        """SELECT DISTINCT t.s3_output_path FROM llm_tasks t
            WHERE t.tenant_id = $1 AND t.run_id = $2 AND t.s3_output_path IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM llm_tasks o
                               WHERE o.tenant_id = $1 AND o.s3_output_path = t.s3_output_path
                                 AND o.run_id <> $2)""",
        tenant_id,
        run_id,
    )
    return [row["s3_output_path"] for row in rows]


async def forget_run(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> None:
    """A deleted run's sessions and tasks (their failures and usage go with them)."""
    await conn.execute("DELETE FROM llm_sessions WHERE tenant_id = $1 AND run_id = $2", tenant_id, run_id)
    await conn.execute("DELETE FROM waiting_items WHERE tenant_id = $1 AND run_id = $2", tenant_id, run_id)


async def cancel_run_tasks(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> None:
    """The run's tasks not answered yet fail as cancelled; one running now may still finish
    (its call is made), but none starts."""
    await conn.execute(
        """UPDATE llm_tasks SET status = 'failed', error_message = 'the run was cancelled',
                  lease_id = NULL, leased_until = NULL
            WHERE tenant_id = $1 AND run_id = $2 AND status IN ('pending', 'retrying')""",
        tenant_id,
        run_id,
    )


async def keep_waiting_item(conn: Connection, event: ItemExtracted) -> None:
    await conn.execute(
        """INSERT INTO waiting_items (item_id, run_id, tenant_id, event) VALUES ($1, $2, $3, $4)
           ON CONFLICT (item_id) DO NOTHING""",
        event.item_id,
        event.run_id,
        event.tenant_id,
        event.model_dump(mode="json"),
    )


async def take_waiting_items(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> list[ItemExtracted]:
    """The run's products that came before its JobCreated, removed from the waiting list."""
    rows = await conn.fetch(
        "DELETE FROM waiting_items WHERE tenant_id = $1 AND run_id = $2 RETURNING event", tenant_id, run_id
    )
    return [ItemExtracted.model_validate(row["event"]) for row in rows]
