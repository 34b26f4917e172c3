"""LLM tasks (seed 000): a tenant's sessions, a session's tasks, one task with a link to its
output, a session's bulk retry (computed by the llm service, which owns them), and a user's own
task over a run's documents (asked through the extractor, which knows their text). Another
tenant's ids are 404s like unknown ones."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from fastapi import Header
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import Field, field_validator

from services.ingest.http.deps import Context, Reader, Writer
from services.ingest.http.internal import ask, tenant_params
from services.ingest.http.items import Cursor, Limit
from services.ingest.http.models import Body
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router
from services.ingest.http.runs import load_run
from shared.llm_api import (
    LLM_SESSION_RETRY_PATH,
    LLM_SESSION_TASKS_PATH,
    LLM_SESSIONS_PATH,
    LLM_TASK_PATH,
    MAX_DOCUMENTS_PER_REQUEST,
    RUN_LLM_TASKS_PATH,
    DocumentsTask,
    RetryResult,
    SessionsPage,
    TaskOut,
    TasksPage,
    TasksRequested,
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


class DocumentsTaskIn(Body):
    run_id: UUID
    prompt: str = Field(min_length=1, max_length=20_000, description="what to ask of each document")
    output_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema (2020-12) of each answer, an object; none: any JSON object"
    )
    limit: int = Field(default=1_000, ge=1, le=MAX_DOCUMENTS_PER_REQUEST, description="documents at most")

    @field_validator("output_schema")
    @classmethod
    def _a_schema_of_objects(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                raise ValueError(f"not a JSON Schema (2020-12): {exc.message}") from exc
            if schema.get("type", "object") != "object":
                raise ValueError('an answer is a JSON object: "type" must be "object"')
        return schema


@router.post("/llm/tasks", response_model=TasksRequested, status_code=202)
async def ask_documents(
    body: DocumentsTaskIn,
    principal: Writer,
    context: Context,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> TasksRequested:
    """Asks the model `prompt` of every document of the run (its Markdown), as a session of its
    own; answers at once with the session, whose tasks run as the model allows. The same
    `Idempotency-Key` asks for the same tasks (and gets the same session)."""
    await load_run(context, principal, body.run_id)
    request_id = (
        uuid5(NAMESPACE_URL, f"{principal.tenant_id}/{idempotency_key}") if idempotency_key else uuid4()
    )
    task = DocumentsTask(
        tenant_id=principal.tenant_id,
        session_id=uuid5(NAMESPACE_URL, f"session/{request_id}"),
        request_id=request_id,
        prompt=body.prompt,
        output_schema=body.output_schema,
        limit=body.limit,
    )
    url = context.settings.extractor_url + RUN_LLM_TASKS_PATH.format(run_id=body.run_id)
    reply = await ask(context, "extractor", url, json_body=task.model_dump_json())
    if reply is None:
        raise Problem(409, f"run {body.run_id} has no document with text to ask about (yet)")
    return TasksRequested.model_validate_json(reply.content)
