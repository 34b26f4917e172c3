"""Exports asked for (ExportRequested), read, linked to and deleted for ingest's public API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.exporter import store
from services.exporter.domain.plan import percent
from shared.events import ExportFile, ExportRequested
from shared.internal_api import ExportLink, ExportOut, ExportsPage, encode_cursor
from shared.s3 import ObjectStore
from shared.uow import Database, UnitOfWork

log = logging.getLogger(__name__)


async def accept_request(uow: UnitOfWork, request: ExportRequested) -> None:
    """Queued for the workers; a request delivered again is the same export."""
    await store.add_export(uow.conn, request)


def export_files(record: Any) -> list[ExportFile]:
    """The files a completed export made (none before it completes)."""
    if record["files"]:
        return [ExportFile.model_validate(file) for file in record["files"]]
    if record["s3_key"] is None:
        return []
    return [
        ExportFile(
            name=record["filename"], s3_key=record["s3_key"], size=record["file_size"], rows=record["rows"]
        )
    ]


def export_out(record: Any) -> ExportOut:
    return ExportOut(
        id=record["export_id"],
        run_id=record["run_id"],
        job_id=record["job_id"],
        dataset=record["dataset"],
        format=record["format"],
        options=record["options"],
        status=record["status"],
        automatic=record["automatic"],
        scope=record["scope"],
        rows_written=record["rows_written"],
        rows_total=record["rows_total"],
        progress=percent(record["rows_written"], record["rows_total"]),
        rows=record["rows"],
        file_size=record["file_size"],
        filename=record["filename"],
        files=export_files(record) if len(record["files"]) > 1 else [],
        link_ttl_seconds=record["link_ttl_seconds"],
        attempts=record["attempts"],
        error_message=record["error_message"],
        note=record["note"],
        requested_at=record["requested_at"],
        started_at=record["started_at"],
        completed_at=record["completed_at"],
        expires_at=record["expires_at"],
    )


async def find_export(db: Database, *, tenant_id: UUID, export_id: UUID) -> ExportOut | None:
    async with db.connection() as conn:
        record = await store.get_export(conn, tenant_id=tenant_id, export_id=export_id)
    return None if record is None else export_out(record)


async def list_exports(
    db: Database, *, tenant_id: UUID, run_id: UUID | None, after: tuple[datetime, UUID] | None, limit: int
) -> ExportsPage:
    async with db.connection() as conn:
        records = await store.list_exports(conn, tenant_id=tenant_id, run_id=run_id, after=after, limit=limit)
    exports = [export_out(record) for record in records]
    last = exports[-1] if len(exports) == limit else None
    return ExportsPage(
        exports=exports, next_cursor=None if last is None else encode_cursor(last.requested_at, last.id)
    )


async def export_link(
    db: Database, objects: ObjectStore, *, tenant_id: UUID, export_id: UUID, file: int = 0
) -> ExportLink | None:
    """A URL of the export's `file`-th file presigned for the rest of the export's life (so it
    stops working when the file goes), naming the file for the download; None when there is
    no such export, or no such file."""
    async with db.connection() as conn:
        record = await store.get_export(conn, tenant_id=tenant_id, export_id=export_id)
    if record is None:
        return None
    expires_at = record["expires_at"]
    if record["status"] == "expired" or (expires_at is not None and expires_at <= datetime.now(UTC)):
        return ExportLink(state="expired", url=None, expires_at=expires_at)
    if record["status"] != "completed":
        return ExportLink(state="not_ready", url=None, expires_at=None)
    files = export_files(record)
    if not 0 <= file < len(files):
        return None
    remaining = max(1, int((expires_at - datetime.now(UTC)).total_seconds()))
    url = await objects.presigned_get(files[file].s3_key, expires_in=remaining, filename=files[file].name)
    return ExportLink(state="ready", url=url, expires_at=expires_at)


async def delete_export(db: Database, objects: ObjectStore, *, tenant_id: UUID, export_id: UUID) -> bool:
    """Gone for its tenant at once; its file now, or by the sweeper if S3 does not answer."""
    async with db.unit_of_work() as uow:
        record = await store.get_export(uow.conn, tenant_id=tenant_id, export_id=export_id)
        deleted = await store.mark_deleted(uow.conn, tenant_id=tenant_id, export_id=export_id)
    keys = [] if record is None else [file.s3_key for file in export_files(record)]
    if deleted and keys:
        try:
            await objects.delete_many(keys)
        except Exception:
            log.warning(
                "could not delete the file of export %s now; the sweeper will", export_id, exc_info=True
            )
            return deleted
        async with db.unit_of_work() as uow:
            await store.file_deleted(uow.conn, export_id=export_id)
    return deleted
