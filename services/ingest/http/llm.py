"""LLM tasks (seed 000): a tenant's sessions, a session's tasks, one task with a link to its
output, and a session's bulk retry. Computed by the llm service, which owns them; another
tenant's ids are 404s like unknown ones."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from services.ingest.http.deps import Context, Reader, Writer
from services.ingest.http.internal import ask, tenant_params
from services.ingest.http.items import Cursor, Limit
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router
from shared.llm_api import (
    LLM_SESSION_RETRY_PATH,
    LLM_SESSION_TASKS_PATH,
    LLM_SESSIONS_PATH,
    LLM_TASK_PATH,
    RetryResult,
    SessionsPage,
    TaskOut,
    TasksPage,
)

router = api_router("llm tasks")
TaskStatus = Literal["pending", "running", "completed", "failed", "retrying"]


@router.get("/llm/sessions", response_model=SessionsPage)
async def sessions(principal: Reader, context: Context, cursor: Cursor, limit: Limit = 100) -> SessionsPage:
    """The tenant's LLM sessions (one per run by default), newest first, with task counts by
    status and the tokens and cost spent."""
    params = tenant_params(principal.tenant_id, limit=limit, cursor=cursor)
    reply = await ask(
        context, "llm service", context.settings.llm_service_url + LLM_SESSIONS_PATH, params=params
    )
    if reply is None:
        raise Problem(502, "the llm service answered 404 for a listing; try again shortly")
    return SessionsPage.model_validate_json(reply.content)


@router.get("/llm/sessions/{session_id}/tasks", response_model=TasksPage)
async def session_tasks(
    session_id: UUID,
    principal: Reader,
    context: Context,
    cursor: Cursor,
    status: TaskStatus | None = None,
    limit: Limit = 100,
) -> TasksPage:
    """The session's tasks in the order they were made, optionally of one status."""
    params = tenant_params(principal.tenant_id, status=status, limit=limit, cursor=cursor)
    url = context.settings.llm_service_url + LLM_SESSION_TASKS_PATH.format(session_id=session_id)
    reply = await ask(context, "llm service", url, params=params)
    if reply is None:
        raise not_found("session", session_id)
    return TasksPage.model_validate_json(reply.content)


@router.get("/llm/tasks/{task_id}", response_model=TaskOut)
async def task(task_id: UUID, principal: Reader, context: Context) -> TaskOut:
    """One task; a completed one carries `output_url`, its output JSON presigned for an hour."""
    url = context.settings.llm_service_url + LLM_TASK_PATH.format(task_id=task_id)
    reply = await ask(context, "llm service", url, params=tenant_params(principal.tenant_id))
    if reply is None:
        raise not_found("task", task_id)
    return TaskOut.model_validate_json(reply.content)


@router.post("/llm/sessions/{session_id}/retry", response_model=RetryResult)
async def retry(session_id: UUID, principal: Writer, context: Context) -> RetryResult:
    """Runs the session's failed tasks again, and only those; answers how many."""
    url = context.settings.llm_service_url + LLM_SESSION_RETRY_PATH.format(session_id=session_id)
    reply = await ask(context, "llm service", url, params=tenant_params(principal.tenant_id), json_body="{}")
    if reply is None:
        raise not_found("session", session_id)
    return RetryResult.model_validate_json(reply.content)
