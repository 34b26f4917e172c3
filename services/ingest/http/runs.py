"""Runs: live progress (JSON and Server-Sent Events), cancel, delete."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse

from services.ingest import commands, store
from services.ingest.domain.credits import credits_charged
from services.ingest.domain.progress import TERMINAL
from services.ingest.http.deps import ApiContext, Context, Principal, Reader, Writer
from services.ingest.http.internal import ask, tenant_params
from services.ingest.http.models import Progress, RunOut
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router
from shared.config import Settings
from shared.internal_api import MAX_RUN_URLS, RUN_SEARCHES_PATH, RUN_URLS_PATH, RunSearches, RunUrls, UrlState

router = api_router("runs")

_PROGRESS_FIELDS = tuple(name for name in Progress.model_fields if name != "credits_charged")
_SSE_POLL_SECONDS = 0.5
_SSE_HEARTBEAT_SECONDS = 15.0


def run_out(row: dict[str, Any], settings: Settings) -> RunOut:
    credits = credits_charged(
        row["pages_fetched"],
        row["tokens"],
        per_page=settings.credits_per_page,
        per_thousand_tokens=settings.credits_per_thousand_tokens,
    )
    progress = Progress.model_validate(
        {name: row[name] for name in _PROGRESS_FIELDS} | {"credits_charged": credits}
    )
    return RunOut.model_validate({**row, "progress": progress})


async def load_run(context: ApiContext, principal: Principal, run_id: UUID) -> RunOut:
    async with context.db.connection() as conn:
        row = await store.run_with_progress(conn, run_id=run_id, tenant_id=principal.tenant_id)
    if row is None:
        raise not_found("run", run_id)
    return run_out(row, context.settings)


@router.get("/runs", response_model=list[RunOut])
async def list_runs(
    principal: Reader,
    context: Context,
    job_id: UUID | None = None,
    status: Annotated[str | None, Query(pattern="^(queued|running|completed|failed|cancelled)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[RunOut]:
    async with context.db.connection() as conn:
        rows = await store.list_runs(
            conn, tenant_id=principal.tenant_id, job_id=job_id, status=status, limit=limit
        )
    return [run_out(row, context.settings) for row in rows]


@router.get("/runs/{run_id}", response_model=RunOut)
async def get_run(run_id: UUID, principal: Reader, context: Context) -> RunOut:
    return await load_run(context, principal, run_id)


@router.get(
    "/runs/{run_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`progress` events, then `end`"}},
)
async def run_events(
    run_id: UUID, principal: Reader, context: Context, request: Request
) -> StreamingResponse:
    """Server-Sent Events: a `progress` event whenever the run changes, `end` when it has ended."""
    first = await load_run(context, principal, run_id)

    async def stream() -> AsyncIterator[str]:
        last: RunOut | None = None
        current: RunOut | None = first
        quiet = 0.0
        while current is not None:
            if current != last:
                yield f"event: progress\ndata: {current.model_dump_json()}\n\n"
                last, quiet = current, 0.0
            if current.status in TERMINAL:
                yield f"event: end\ndata: {json.dumps({'status': current.status})}\n\n"
                return
            if quiet >= _SSE_HEARTBEAT_SECONDS:
                yield ": keep-alive\n\n"
                quiet = 0.0
            if await request.is_disconnected():
                return
            await asyncio.sleep(_SSE_POLL_SECONDS)
            quiet += _SSE_POLL_SECONDS
            async with context.db.connection() as conn:
                row = await store.run_with_progress(conn, run_id=run_id, tenant_id=principal.tenant_id)
            current = None if row is None else run_out(row, context.settings)
        yield f"event: end\ndata: {json.dumps({'status': 'deleted'})}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/runs/{run_id}/pages",
    response_model=RunUrls,
    responses={503: {"description": "the crawler did not answer"}},
)
async def run_pages(
    run_id: UUID,
    principal: Reader,
    context: Context,
    status: Annotated[list[UrlState] | None, Query(description="only URLs in these states")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RUN_URLS)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
) -> RunUrls:
    """The run's URLs in the order they were found, each with its state and, for those skipped
    or failed, why: robots, http_404, too_large, ssrf, redirect, duplicate, max_pages, ..."""
    await load_run(context, principal, run_id)  # another tenant's run: 404
    params = tenant_params(principal.tenant_id, limit=limit, cursor=cursor)
    params += [("state", state.value) for state in status or ()]
    url = context.settings.crawler_url + RUN_URLS_PATH.format(run_id=run_id)
    reply = await ask(context, "crawler", url, params=params)
    if reply is None:
        raise not_found("run", run_id)
    return RunUrls.model_validate_json(reply.content)


@router.get(
    "/runs/{run_id}/searches",
    response_model=RunSearches,
    responses={503: {"description": "the crawler did not answer"}},
)
async def run_searches(run_id: UUID, principal: Reader, context: Context) -> RunSearches:
    """A keyword job's searches: each keyword (each page of results), where it stands, how many
    URLs it seeded, and for one that found nothing, what the provider said about it."""
    await load_run(context, principal, run_id)  # another tenant's run: 404
    url = context.settings.crawler_url + RUN_SEARCHES_PATH.format(run_id=run_id)
    reply = await ask(context, "crawler", url, params=tenant_params(principal.tenant_id))
    if reply is None:
        raise not_found("run", run_id)
    return RunSearches.model_validate_json(reply.content)


@router.post("/runs/{run_id}/cancel", response_model=RunOut)
async def cancel_run(run_id: UUID, principal: Writer, context: Context) -> RunOut:
    async with context.db.unit_of_work() as uow:
        cancelled = await commands.cancel_run(uow, tenant_id=principal.tenant_id, run_id=run_id)
    if cancelled is None:
        raise not_found("run", run_id)
    run = await load_run(context, principal, run_id)
    if not cancelled and run.status != "cancelled":
        raise Problem(409, f"run {run_id} has already ended ({run.status}); nothing to cancel")
    return run


@router.delete("/runs/{run_id}", status_code=204)
async def delete_run(run_id: UUID, principal: Writer, context: Context) -> Response:
    """Deletes the run here and, through RunDeleted, everything every service holds of it."""
    async with context.db.unit_of_work() as uow:
        if not await commands.delete_run(uow, tenant_id=principal.tenant_id, run_id=run_id):
            raise not_found("run", run_id)
    return Response(status_code=204)
