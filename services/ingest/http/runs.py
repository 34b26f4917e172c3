"""Runs: live progress (JSON and Server-Sent Events), cancel, delete; uploads start runs too."""

from __future__ import annotations

import asyncio
import json
import mimetypes
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, File, Header, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from services.ingest import commands, store
from services.ingest.domain.progress import TERMINAL
from services.ingest.http.deps import ApiContext, Context, Principal, Reader, Writer
from services.ingest.http.models import Progress, RunOut, UploadedDocument, UploadOut
from services.ingest.http.problems import Problem, not_found
from shared.s3 import tenant_key

router = APIRouter(prefix="/v1", tags=["runs and uploads"])

_PROGRESS_FIELDS = tuple(Progress.model_fields)
_SSE_POLL_SECONDS = 0.5
_SSE_HEARTBEAT_SECONDS = 15.0


def run_out(row: dict[str, Any]) -> RunOut:
    progress = Progress.model_validate({name: row[name] for name in _PROGRESS_FIELDS})
    return RunOut.model_validate({**row, "progress": progress})


async def load_run(context: ApiContext, principal: Principal, run_id: UUID) -> RunOut:
    async with context.db.connection() as conn:
        row = await store.run_with_progress(conn, run_id=run_id, tenant_id=principal.tenant_id)
    if row is None:
        raise not_found("run", run_id)
    return run_out(row)


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
    return [run_out(row) for row in rows]


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
            current = None if row is None else run_out(row)
        yield f"event: end\ndata: {json.dumps({'status': 'deleted'})}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


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


UPLOAD_TYPES = {
    "text/html": "text/html",
    "application/xhtml+xml": "text/html",
    "application/pdf": "application/pdf",
    "text/plain": "text/plain",
    "text/markdown": "text/markdown",
    "text/x-markdown": "text/markdown",
}
MAX_FILES = 100


def _clean_filename(raw: str | None) -> str:
    """The base name, without characters a database or a header could not hold."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable() and not "\ud800" <= char <= "\udfff")
    return name[:255] or "upload"


def upload_type(filename: str, declared: str | None) -> str | None:
    """The document type of an upload: its declared type, else its extension's; None if unsupported."""
    declared_type = (declared or "").split(";")[0].strip().lower()
    if declared_type in UPLOAD_TYPES:
        return UPLOAD_TYPES[declared_type]
    guessed, _ = mimetypes.guess_type(filename)
    if filename.lower().endswith((".md", ".markdown")):
        guessed = "text/markdown"
    return UPLOAD_TYPES.get(guessed or "")


@router.post(
    "/uploads",
    response_model=UploadOut,
    status_code=201,
    responses={
        413: {"description": "a file is over the size limit"},
        415: {"description": "unsupported type"},
    },
)
async def upload(
    principal: Writer,
    context: Context,
    request: Request,
    files: Annotated[list[UploadFile], File(description="HTML, PDF, text or Markdown files")],
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> UploadOut:
    """Store the files and index them as one run (source_type 'upload')."""
    limit = context.settings.upload_max_bytes
    if not files:
        raise Problem(422, "files: send at least one file")
    if len(files) > MAX_FILES:
        raise Problem(422, f"files: at most {MAX_FILES} files per upload")
    uploads: list[commands.StoredUpload] = []
    for file in files:
        filename = _clean_filename(file.filename)
        content_type = upload_type(filename, file.content_type)
        if content_type is None:
            raise Problem(
                415,
                f"{filename}: type {file.content_type!r} is not supported; send HTML, PDF, text or Markdown",
            )
        if file.size is not None and file.size > limit:
            raise Problem(413, f"{filename} is {file.size:,} bytes; the limit is {limit:,} bytes per file")
        data = await file.read()
        if len(data) > limit:
            raise Problem(413, f"{filename} is {len(data):,} bytes; the limit is {limit:,} bytes per file")
        stored = await context.objects.put_content_addressed(
            data, prefix=tenant_key(principal.tenant_id, "uploads"), content_type=content_type
        )
        uploads.append(
            commands.StoredUpload(
                document_id=uuid4(),
                filename=filename,
                content_type=content_type,
                size=len(data),
                s3_key=stored.key,
                content_hash=stored.sha256,
            )
        )
    async with context.db.unit_of_work() as uow:
        started = await commands.start_run(
            uow,
            commands.RunRequest(
                tenant_id=principal.tenant_id,
                trigger="upload",
                uploads=uploads,
                idempotency_key=idempotency_key,
            ),
        )
    if started.refused is not None:
        raise Problem(started.refused.status, started.refused.reason)
    assert started.run_id is not None
    documents = [
        UploadedDocument(
            document_id=upload.document_id,
            filename=upload.filename,
            content_type=upload.content_type,
            size=upload.size,
            s3_key=upload.s3_key,
        )
        for upload in uploads
    ]
    return UploadOut(run=await load_run(context, principal, started.run_id), documents=documents)
