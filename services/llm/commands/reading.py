"""What the internal API answers: a tenant's sessions and tasks, a task's output link, and a
session's bulk retry (which writes, in its own unit of work)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.llm import store
from shared.internal_api import encode_cursor
from shared.llm_api import OUTPUT_LINK_SECONDS, RetryResult, SessionOut, SessionsPage, TaskOut, TasksPage
from shared.s3 import ObjectStore
from shared.uow import Database


async def sessions(
    db: Database, *, tenant_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> SessionsPage:
    async with db.connection() as conn:
        rows = await store.sessions(conn, tenant_id=tenant_id, after=after, limit=limit)
    found = [SessionOut.model_validate(dict(row)) for row in rows]
    last = found[-1] if len(found) == limit else None
    return SessionsPage(sessions=found, next_cursor=encode_cursor(last.created_at, last.id) if last else None)


async def session_tasks(
    db: Database,
    *,
    tenant_id: UUID,
    session_id: UUID,
    status: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> TasksPage | None:
    async with db.connection() as conn:
        if not await store.session_exists(conn, tenant_id=tenant_id, session_id=session_id):
            return None
        rows = await store.session_tasks(
            conn, tenant_id=tenant_id, session_id=session_id, status=status, after=after, limit=limit
        )
    found = [_task(row) for row in rows]
    last = found[-1] if len(found) == limit else None
    return TasksPage(tasks=found, next_cursor=encode_cursor(last.created_at, last.id) if last else None)


async def task(db: Database, objects: ObjectStore, *, tenant_id: UUID, task_id: UUID) -> TaskOut | None:
    """One task; a completed one with a link to its output, presigned for an hour."""
    async with db.connection() as conn:
        row = await store.task(conn, tenant_id=tenant_id, task_id=task_id)
    if row is None:
        return None
    found = _task(row)
    if row["s3_output_path"]:
        found.output_url = await objects.presigned_get(row["s3_output_path"], expires_in=OUTPUT_LINK_SECONDS)
    return found


async def retry(db: Database, *, tenant_id: UUID, session_id: UUID) -> RetryResult | None:
    async with db.unit_of_work() as uow:
        retried = await store.retry_failed(
            uow.conn, tenant_id=tenant_id, session_id=session_id, now=datetime.now(UTC)
        )
    return None if retried is None else RetryResult(retried=retried)


def _task(row: asyncpg.Record) -> TaskOut:
    fields: dict[str, Any] = {key: value for key, value in dict(row).items() if key != "s3_output_path"}
    return TaskOut.model_validate(fields)
