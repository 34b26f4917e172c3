"""The sweeper: files of expired and deleted exports removed, and multipart uploads left by
exports that died mid-way (a killed process cannot abort its own) aborted."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Final

from services.exporter import metrics, store
from services.exporter.commands.requests import export_files
from services.exporter.commands.running import export_prefix
from shared.s3 import ObjectStore
from shared.uow import Database

log = logging.getLogger(__name__)

_BATCH: Final = 200
_EXPORTS_SEGMENT: Final = "/exports/"


async def delete_due_files(db: Database, objects: ObjectStore) -> int:
    """Deletes the files whose link expired or whose export was deleted; how many."""
    deleted = 0
    while True:
        async with db.connection() as conn:
            due = await store.files_to_delete(conn, limit=_BATCH)
        for record in due:
            # The object first: a crash in between deletes it again next time, harmlessly.
            await objects.delete_many([file.s3_key for file in export_files(record)])
            async with db.unit_of_work() as uow:
                await store.file_deleted(uow.conn, export_id=record["export_id"])
            metrics.FILES_DELETED.labels("deleted" if record["status"] == "deleted" else "expired").inc()
        deleted += len(due)
        if len(due) < _BATCH:
            return deleted


async def abort_stale_uploads(db: Database, objects: ObjectStore, *, older_than_seconds: float) -> int:
    """Aborts the exports' multipart uploads begun before `older_than_seconds` ago that no live
    export is writing; how many."""
    async with db.connection() as conn:
        running = {export_prefix(r["tenant_id"], r["export_id"]) for r in await store.running_exports(conn)}
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    aborted = 0
    async for key, upload_id, began in objects.unfinished_uploads("tenants/"):
        if _EXPORTS_SEGMENT not in key or began > cutoff or any(key.startswith(p) for p in running):
            continue
        await objects.abort_upload(key, upload_id)
        log.info("aborted the stale multipart upload of %s (begun %s)", key, began.isoformat())
        metrics.UPLOADS_ABORTED.inc()
        aborted += 1
    return aborted
