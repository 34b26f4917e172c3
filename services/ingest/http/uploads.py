"""Uploads: HTML, PDF, text and Markdown files stored, then indexed as one run.

Their body limit is their own (`upload_max_bytes` per file, `MAX_UPLOAD_FILES` files), above
the JSON limit of every other route (see `routing.body_limit`).
"""

from __future__ import annotations

import mimetypes
from typing import Annotated
from uuid import uuid4

from fastapi import File, Header, UploadFile

from services.ingest import commands
from services.ingest.http.deps import Context, Writer
from services.ingest.http.models import UploadedDocument, UploadOut
from services.ingest.http.problems import Problem
from services.ingest.http.routing import MAX_UPLOAD_FILES, UPLOADS_PATH, api_router
from services.ingest.http.runs import load_run
from shared.s3 import tenant_key

router = api_router("uploads")

UPLOAD_TYPES = {
    "text/html": "text/html",
    "application/xhtml+xml": "text/html",
    "application/pdf": "application/pdf",
    "text/plain": "text/plain",
    "text/markdown": "text/markdown",
    "text/x-markdown": "text/markdown",
}


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
    UPLOADS_PATH.removeprefix("/v1"),
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
    files: Annotated[list[UploadFile], File(description="HTML, PDF, text or Markdown files")],
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> UploadOut:
    """Store the files and index them as one run (source_type 'upload')."""
    limit = context.settings.upload_max_bytes
    if not files:
        raise Problem(422, "files: send at least one file")
    if len(files) > MAX_UPLOAD_FILES:
        raise Problem(422, f"files: at most {MAX_UPLOAD_FILES} files per upload")
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
