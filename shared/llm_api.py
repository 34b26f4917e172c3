"""The llm service's internal HTTP contract, for ingest's public `/v1/llm/...` routes: a
tenant's sessions, a session's tasks, one task (its output through a presigned link), and a
session's bulk retry. Every request names the tenant (`tenant_id` query parameter)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.search_api import SearchQuery

LLM_SESSIONS_PATH = "/internal/v1/llm/sessions"
LLM_SESSION_TASKS_PATH = "/internal/v1/llm/sessions/{session_id}/tasks"
LLM_SESSION_RETRY_PATH = "/internal/v1/llm/sessions/{session_id}/retry"
LLM_TASK_PATH = "/internal/v1/llm/tasks/{task_id}"
TASK_STATUSES = ("pending", "running", "completed", "failed", "retrying")
OUTPUT_LINK_SECONDS = 3600


class SessionOut(BaseModel):
    id: UUID
    run_id: UUID
    job_id: UUID | None
    kind: str = Field(
        description="run (the run's queries and record completions) or on_demand (a user's task)"
    )
    created_at: datetime
    tasks: dict[str, int] = Field(description="tasks by status")
    prompt_tokens: int
    completion_tokens: int
    cost: float = Field(description="USD, at the configured prices")


class SessionsPage(BaseModel):
    sessions: list[SessionOut]
    next_cursor: str | None


class TaskOut(BaseModel):
    id: UUID
    session_id: UUID
    run_id: UUID
    job_id: UUID | None
    kind: str = Field(description="query, schema_extraction or on_demand")
    query_name: str | None
    product_hash: str | None
    product_name: str | None
    document_id: UUID | None
    model: str
    status: str = Field(description="pending, running, completed, failed or retrying")
    waiting_reason: str | None = Field(description="why a pending task has not run yet")
    error_class: str | None
    error_message: str | None
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    cached: bool = Field(description="answered from an earlier identical call: no tokens spent")
    created_at: datetime
    completed_at: datetime | None
    output_url: str | None = Field(
        default=None, description="the output JSON, presigned for an hour (one task)"
    )


class TasksPage(BaseModel):
    tasks: list[TaskOut]
    next_cursor: str | None


class RetryResult(BaseModel):
    retried: int = Field(description="the session's failed tasks, put back to run")


# -- a user's task over a run's documents, items or search hits (ingest -> extractor, which
# owns them and computes the search) --------------------------------------------------------

RUN_LLM_TASKS_PATH = "/internal/v1/runs/{run_id}/llm-tasks"
MAX_DOCUMENTS_PER_REQUEST = 10_000
TaskSource = Literal["documents", "items", "search_hits"]


class UserTask(BaseModel):
    """Ask the llm service `prompt` of every document of the run (its Markdown), every item
    (a product's or a record's data), or every hit of a search within the run (its text, URL and
    title), in one session."""

    tenant_id: UUID
    session_id: UUID
    job_id: UUID | None = None
    request_id: UUID = Field(description="the same request again asks for the same tasks")
    prompt: str = Field(min_length=1, max_length=20_000)
    output_schema: dict[str, Any] | None = None
    source: TaskSource = "documents"
    item_kind: Literal["product", "schema_result"] | None = None
    search: SearchQuery | None = None
    limit: int = Field(default=1_000, ge=1, le=MAX_DOCUMENTS_PER_REQUEST)


class TasksRequested(BaseModel):
    session_id: UUID
    source: TaskSource = "documents"
    requested: int = Field(description="documents (those with text), items or search hits asked about")
