"""Dataset exports: a run's items, products, documents or images as a file (CSV, JSON Lines,
JSON, Excel, Parquet, or a zip / tar of images) behind an expiring link. Asked of the exporter
(ExportRequested), which owns exports; read, linked to and deleted through its internal HTTP."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Self
from uuid import UUID

from fastapi import Query, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.ingest import commands, store
from services.ingest.http.deps import ApiContext, Context, Principal, Reader, Writer
from services.ingest.http.internal import ask, tenant_params
from services.ingest.http.models import RunOut
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router
from services.ingest.http.runs import load_run, run_out
from shared.events import ExportDataset, ExportFormat, ExportOptions
from shared.events.exports import MAX_LINK_SECONDS, check_format_fits
from shared.internal_api import (
    EXPORT_LINK_PATH,
    EXPORT_PATH,
    EXPORTS_PATH,
    MAX_EXPORTS_PAGE,
    ExportLink,
    ExportOut,
    ExportsPage,
    decode_cursor,
)

router = api_router("exports")

# How long a new export's answer waits for the exporter to have taken the request, so that
# reading it right after is found; past it, the answer says 'queued' all the same.
_TAKEN_WITHIN_SECONDS = 3.0


class ExportOptionsIn(ExportOptions):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: UUID | None = Field(default=None, description="the run whose rows to export")
    job_id: UUID | None = Field(
        default=None,
        description="or the job: the rows of all its runs (products: the latest of each across them)",
    )
    dataset: ExportDataset = ExportDataset.ITEMS
    format: ExportFormat
    options: ExportOptionsIn = Field(default_factory=ExportOptionsIn)
    link_ttl_seconds: int = Field(
        default=3600, ge=60, le=MAX_LINK_SECONDS, description="how long the file lives (7 days at most)"
    )

    @model_validator(mode="after")
    def _format_fits_dataset(self) -> Self:
        check_format_fits(self.dataset, self.format)
        if (self.run_id is None) == (self.job_id is None):
            raise ValueError("name a run (run_id) or a job (job_id), not both")
        return self


@router.post("/exports", response_model=ExportOut, status_code=202)
async def create_export(body: ExportIn, principal: Writer, context: Context) -> ExportOut:
    """Export a run's (or a job's) dataset; follow it with GET /v1/exports/{id}, then download it."""
    if body.run_id is not None:
        run = await load_run(context, principal, body.run_id)  # another tenant's run: 404
    else:
        assert body.job_id is not None
        run = await _latest_run(context, principal, body.job_id)
    async with context.db.unit_of_work() as uow:
        request = await commands.request_export(
            uow,
            tenant_id=principal.tenant_id,
            run_id=run.id,
            job_id=run.job_id,
            scope="run" if body.run_id is not None else "job",
            dataset=body.dataset,
            format=body.format,
            options=body.options,
            link_ttl_seconds=body.link_ttl_seconds,
        )
    deadline = time.monotonic() + _TAKEN_WITHIN_SECONDS
    while time.monotonic() < deadline:
        taken = await _export(context, principal.tenant_id, request.export_id)
        if taken is not None:
            return taken
        await asyncio.sleep(0.1)
    return ExportOut(
        id=request.export_id,
        run_id=request.run_id,
        job_id=request.job_id,
        dataset=request.dataset.value,
        format=request.format.value,
        options=request.options.model_dump(mode="json"),
        status="queued",
        scope=request.scope,
        rows_written=0,
        rows_total=None,
        progress=None,
        rows=None,
        file_size=None,
        filename=None,
        link_ttl_seconds=request.link_ttl_seconds,
        attempts=0,
        error_message=None,
        requested_at=request.requested_at,
        started_at=None,
        completed_at=None,
        expires_at=None,
    )


async def _latest_run(context: ApiContext, principal: Principal, job_id: UUID) -> RunOut:
    """The job's newest run, the anchor of an export of the job; 404 for another tenant's job."""
    async with context.db.connection() as conn:
        if await store.get_job(conn, tenant_id=principal.tenant_id, job_id=job_id) is None:
            raise not_found("job", job_id)
        runs = await store.list_runs(conn, tenant_id=principal.tenant_id, job_id=job_id, status=None, limit=1)
    if not runs:
        raise Problem(409, f"job {job_id} has no runs yet: start one, then export it")
    return run_out(runs[0], context.settings)


@router.get("/exports", response_model=ExportsPage)
async def list_exports(
    principal: Reader,
    context: Context,
    run_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EXPORTS_PAGE)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
) -> ExportsPage:
    """The tenant's exports, newest first."""
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except ValueError as exc:
            raise Problem(422, f"cursor: {cursor!r} is not a next_cursor this API gave") from exc
    params = tenant_params(
        principal.tenant_id, run_id=None if run_id is None else str(run_id), limit=limit, cursor=cursor
    )
    reply = await ask(context, "exporter", context.settings.exporter_url + EXPORTS_PATH, params=params)
    if reply is None:
        raise Problem(502, "the exporter answered 404 for a listing; try again shortly")
    return ExportsPage.model_validate_json(reply.content)


@router.get("/exports/{export_id}", response_model=ExportOut)
async def get_export(export_id: UUID, principal: Reader, context: Context) -> ExportOut:
    """Where the export stands: rows written of the total, then its file's size and expiry."""
    found = await _export(context, principal.tenant_id, export_id)
    if found is None:
        raise not_found("export", export_id)
    return found


@router.get(
    "/exports/{export_id}/download",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {"description": "to a freshly presigned URL of the file"},
        409: {"description": "the export is not completed (queued, running or failed)"},
        410: {"description": "the export expired: its file is deleted"},
    },
)
async def download_export(
    export_id: UUID,
    principal: Reader,
    context: Context,
    file: Annotated[
        int, Query(ge=0, le=1_000_000, description="which file of an export of several (`files`), from 0")
    ] = 0,
) -> RedirectResponse:
    url = context.settings.exporter_url + EXPORT_LINK_PATH.format(export_id=export_id)
    reply = await ask(context, "exporter", url, params=tenant_params(principal.tenant_id, file=str(file)))
    if reply is None:
        raise not_found("export" if file == 0 else "export file", export_id)
    link = ExportLink.model_validate_json(reply.content)
    if link.state == "expired":
        raise Problem(410, f"export {export_id} expired at {link.expires_at}; its file is deleted")
    if link.url is None:
        raise Problem(409, f"export {export_id} has no file yet (or failed): see GET /v1/exports/{export_id}")
    return RedirectResponse(link.url, status_code=302)


@router.delete("/exports/{export_id}", status_code=204)
async def delete_export(export_id: UUID, principal: Writer, context: Context) -> Response:
    """The export and its file."""
    url = context.settings.exporter_url + EXPORT_PATH.format(export_id=export_id)
    reply = await ask(context, "exporter", url, params=tenant_params(principal.tenant_id), method="DELETE")
    if reply is None:
        raise not_found("export", export_id)
    return Response(status_code=204)


async def _export(context: Context, tenant_id: UUID, export_id: UUID) -> ExportOut | None:
    url = context.settings.exporter_url + EXPORT_PATH.format(export_id=export_id)
    reply = await ask(context, "exporter", url, params=tenant_params(tenant_id))
    return None if reply is None else ExportOut.model_validate_json(reply.content)
