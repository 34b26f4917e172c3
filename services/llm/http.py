"""The llm service's internal HTTP surface, for ingest's public `/v1/llm/...` routes. Only
callers holding the shared internal token get past a 401; a bad query is a 422; another
tenant's session or task is a 404."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from services.llm.commands import reading
from shared.http import internal_route
from shared.internal_http import (
    BadQuery,
    bad_query,
    cursor_of,
    json_response,
    not_found,
    page_limit,
    tenant_of,
)
from shared.llm_api import (
    LLM_SESSION_RETRY_PATH,
    LLM_SESSION_TASKS_PATH,
    LLM_SESSIONS_PATH,
    LLM_TASK_PATH,
    TASK_STATUSES,
)
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime
from shared.uow import Database


def routes(runtime: ServiceRuntime) -> list[BaseRoute]:
    def db() -> Database:
        return runtime.resources.get(Database)

    async def sessions(request: Request) -> Response:
        try:
            page = await reading.sessions(
                db(), tenant_id=tenant_of(request), after=cursor_of(request), limit=page_limit(request)
            )
        except (KeyError, ValueError) as exc:
            return bad_query(exc)
        return json_response(page)

    async def session_tasks(request: Request) -> Response:
        status = request.query_params.get("status")
        try:
            if status is not None and status not in TASK_STATUSES:
                raise BadQuery(f"status must be one of {', '.join(TASK_STATUSES)}")
            page = await reading.session_tasks(
                db(),
                tenant_id=tenant_of(request),
                session_id=UUID(request.path_params["session_id"]),
                status=status,
                after=cursor_of(request),
                limit=page_limit(request),
            )
        except (KeyError, ValueError) as exc:
            return bad_query(exc)
        return json_response(page) if page is not None else not_found()

    async def task(request: Request) -> Response:
        try:
            found = await reading.task(
                db(),
                runtime.resources.get(ObjectStore),
                tenant_id=tenant_of(request),
                task_id=UUID(request.path_params["task_id"]),
            )
        except (KeyError, ValueError) as exc:
            return bad_query(exc)
        return json_response(found) if found is not None else not_found()

    async def retry(request: Request) -> Response:
        try:
            result = await reading.retry(
                db(), tenant_id=tenant_of(request), session_id=UUID(request.path_params["session_id"])
            )
        except (KeyError, ValueError) as exc:
            return bad_query(exc)
        return json_response(result) if result is not None else not_found()

    token = runtime.settings.internal_token
    return [
        internal_route(LLM_SESSIONS_PATH, sessions, token=token, methods=["GET"]),
        internal_route(LLM_SESSION_TASKS_PATH, session_tasks, token=token, methods=["GET"]),
        internal_route(LLM_SESSION_RETRY_PATH, retry, token=token, methods=["POST"]),
        internal_route(LLM_TASK_PATH, task, token=token, methods=["GET"]),
    ]
