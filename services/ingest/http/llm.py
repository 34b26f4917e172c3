"""LLM tasks (seed 000): a tenant's sessions, a session's tasks, one task with a link to its
output, a session's bulk retry (computed by the llm service, which owns them), and a user's own
task over a run's documents, items or search hits (asked through the extractor, which owns
them and computes the search). Another tenant's ids are 404s like unknown ones."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from fastapi import Header
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import Field, field_validator, model_validator

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
    RetryResult,
    SessionsPage,
    TaskOut,
    TaskSource,
    TasksPage,
    TasksRequested,
    UserTask,
)
from shared.search_api import SearchQuery

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


class UserTaskIn(Body):
    run_id: UUID
    prompt: str = Field(min_length=1, max_length=20_000, description="what to ask of each input")
    output_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema (2020-12) of each answer, an object; none: any JSON object"
    )
    source: TaskSource = Field(
        default="documents",
        description="what each task is asked of: the run's documents (their Markdown), its items "
        "(products and schema records, their data), or the hits of `search` within the run",
    )
    item_kind: Literal["product", "schema_result"] | None = Field(
        default=None, description="with source items: only products, or only schema records"
    )
    search: SearchQuery | None = Field(
        default=None,
        description="with source search_hits: the search (as POST /v1/search takes it), made within "
        "the run; one task per hit",
    )
    limit: int = Field(
        default=1_000, ge=1, le=MAX_DOCUMENTS_PER_REQUEST, description="documents or items at most"
    )

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

    @model_validator(mode="after")
    def _search_with_search_hits(self) -> UserTaskIn:
        if (self.source == "search_hits") != (self.search is not None):
            raise ValueError("`search` goes with source search_hits, and only with it")
        if self.item_kind is not None and self.source != "items":
            raise ValueError("`item_kind` goes with source items")
        if self.search is not None and self.search.run_id not in (None, self.run_id):
            raise ValueError("search.run_id: the search is made within the task's run_id")
        return self


@router.post("/llm/tasks", response_model=TasksRequested, status_code=202)
async def ask_run(
    body: UserTaskIn,
    principal: Writer,
    context: Context,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> TasksRequested:
    """Asks the model `prompt` of every document of the run (its Markdown), every item (its
    data), or every hit of a search within the run (its URL, title and text), as a session of
    its own; answers at once with the session, whose tasks run as the model allows. The same
    `Idempotency-Key` asks for the same tasks (and gets the same session)."""
    run = await load_run(context, principal, body.run_id)
    request_id = (
        uuid5(NAMESPACE_URL, f"{principal.tenant_id}/{idempotency_key}") if idempotency_key else uuid4()
    )
    task = UserTask(
        tenant_id=principal.tenant_id,
        session_id=uuid5(NAMESPACE_URL, f"session/{request_id}"),
        job_id=run.job_id,
        request_id=request_id,
        prompt=body.prompt,
        output_schema=body.output_schema,
        source=body.source,
        item_kind=body.item_kind,
        search=body.search,
        limit=body.limit,
    )
    url = context.settings.extractor_url + RUN_LLM_TASKS_PATH.format(run_id=body.run_id)
    reply = await ask(context, "extractor", url, json_body=task.model_dump_json())
    if reply is None:
        nothing = {"documents": "document with text", "items": "item", "search_hits": "search hit"}
        raise Problem(409, f"run {body.run_id} has no {nothing[body.source]} to ask about (yet)")
    return TasksRequested.model_validate_json(reply.content)
