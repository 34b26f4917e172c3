"""The public HTTP API: a FastAPI app served on ingest's port under /v1, OpenAPI at /docs.

Every response carries an `X-Request-ID`; every mutating call is written to the audit log
(actor, action, resource, request id, IP, user agent — never a key or a body). Request bodies
are bounded: JSON by `api_json_max_bytes`, uploads by their own limit. An error nobody
expected is answered like every other one, as problem+json (a 500 naming the request id),
counted and audited, and the connection stays open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

from fastapi import FastAPI, Request, Response

from services.ingest import metrics, store
from services.ingest.domain.submissions import escape_unstorable
from services.ingest.http import (
    accounts,
    exports,
    images,
    items,
    jobs,
    llm,
    problems,
    projects,
    runs,
    search,
    uploads,
)
from services.ingest.http.deps import ApiContext, Principal
from services.ingest.http.routing import body_limit
from shared.config import Settings

log = logging.getLogger(__name__)

_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REQUEST_ID = "X-Request-ID"


def create_app(context: ApiContext) -> FastAPI:
    settings = context.settings
    app = FastAPI(
        title="Trawl API",
        version="1",
        description="Crawl, upload, extract and search. Authenticate with `Authorization: Bearer <API key>`.",
    )
    app.state.context = context
    problems.install(app)
    for module in (accounts, projects, jobs, runs, search, uploads, items, images, llm, exports):
        app.include_router(module.router)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = (request.headers.get(_REQUEST_ID) or uuid4().hex)[:100]
        request.state.request_id = request_id
        started = time.perf_counter()
        project = await _project_of(context, request) if request.method in _MUTATING else None
        try:
            response = _declared_too_large(request, settings) or await call_next(request)
        except Exception:
            log.exception("request %s %s (id %s) failed", request.method, request.url.path, request_id)
            response = problems.problem_response(
                request,
                problems.Problem(
                    500,
                    f"an internal error stopped this request; quote request id {request_id} when asking why",
                ),
            )
        response.headers[_REQUEST_ID] = request_id
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        metrics.LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        if request.method in _MUTATING:
            await _audit(context, request, route, response.status_code, request_id, project)
        return response

    return app


def _declared_too_large(request: Request, settings: Settings) -> Response | None:
    """Refuse a body whose declared length is over its route's limit before reading it.
    (Starlette's own body limit answers in plain text; this API answers in problem+json.)
    Bodies without a declared length are counted as they are read (`routing`)."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) <= (limit := body_limit(request.url.path, settings)):
        return None
    detail = f"the request body is {int(declared):,} bytes; at most {limit:,} are accepted"
    return problems.problem_response(request, problems.Problem(413, detail))


async def _project_of(context: ApiContext, request: Request) -> tuple[UUID, UUID] | None:
    """(tenant, project) of what a call on /v1/projects/{id}, /v1/jobs/{id}... or
    /v1/runs/{id}... concerns, read before the call (a deletion leaves nothing to read after),
    for the project's activity feed. The caller is not authenticated yet: `_audit` keeps the
    project only when it is the caller's tenant's."""
    parts = request.url.path.strip("/").split("/")
    if len(parts) < 3 or parts[0] != "v1" or parts[1] not in ("projects", "jobs", "runs"):
        return None
    try:
        resource_id = UUID(parts[2])
    except ValueError:
        return None
    try:
        async with context.db.connection() as conn:
            return await store.project_of(conn, kind=parts[1], resource_id=resource_id)
    except Exception:  # the feed is not worth failing a call for
        log.exception("could not tell the project of %s", request.url.path)
        return None


async def _audit(
    context: ApiContext,
    request: Request,
    route: str,
    status: int,
    request_id: str,
    concerned: tuple[UUID, UUID] | None,
) -> None:
    principal: Principal | None = getattr(request.state, "principal", None)
    project = getattr(request.state, "project_id", None)  # a call that made something in a project
    if concerned is not None and principal is not None and concerned[0] == principal.tenant_id:
        project = concerned[1]
    try:
        async with context.db.unit_of_work() as uow:
            await store.insert_audit(
                uow.conn,
                tenant_id=principal.tenant_id if principal else None,
                actor=f"key:{principal.key_id}" if principal else "anonymous",
                action=f"{request.method} {route}",
                resource=escape_unstorable(request.url.path[:2048]),  # paths arrive percent-decoded
                status=status,
                request_id=request_id,
                project_id=project,
                ip=request.client.host if request.client else None,
                user_agent=(request.headers.get("user-agent") or "")[:500] or None,
            )
    except Exception:
        # The call already happened; a lost audit row is logged loudly rather than failing it.
        log.exception("could not write the audit log entry of request %s", request_id)
