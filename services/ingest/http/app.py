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
from uuid import uuid4

from fastapi import FastAPI, Request, Response

from services.ingest import metrics, store
from services.ingest.domain.submissions import escape_unstorable
from services.ingest.http import accounts, items, jobs, problems, runs, search, uploads
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
    for module in (accounts, jobs, runs, search, uploads, items):
        app.include_router(module.router)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = (request.headers.get(_REQUEST_ID) or uuid4().hex)[:100]
        request.state.request_id = request_id
        started = time.perf_counter()
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
            await _audit(context, request, route, response.status_code, request_id)
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


async def _audit(context: ApiContext, request: Request, route: str, status: int, request_id: str) -> None:
    principal: Principal | None = getattr(request.state, "principal", None)
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
                ip=request.client.host if request.client else None,
                user_agent=(request.headers.get("user-agent") or "")[:500] or None,
            )
    except Exception:
        # The call already happened; a lost audit row is logged loudly rather than failing it.
        log.exception("could not write the audit log entry of request %s", request_id)
