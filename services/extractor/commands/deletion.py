"""Deleting a run: recorded when RunDeleted arrives, then driven through every store.

The record (`run_deletions`) is taken in the consumer's unit of work; the deletion worker
then removes the run's rows, then its vector points, then the raw objects no other document
references, one recorded step at a time, so a crash resumes where it stopped. The record
stays as a tombstone: late pages of a deleted run are not indexed.
"""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg

from services.extractor import store
from services.extractor.pipeline import Pipeline
from shared import runs
from shared.s3 import ObjectStore
from shared.uow import Database, UnitOfWork

log = logging.getLogger(__name__)


async def forget_run(uow: UnitOfWork, *, tenant_id: UUID, run_id: UUID) -> None:
    """Forget the run's configuration and leave its rows, points and objects to the worker."""
    await runs.forget_run(uow.conn, tenant_id=tenant_id, run_id=run_id)
    await store.request_run_deletion(uow.conn, tenant_id=tenant_id, run_id=run_id)


async def drive_deletion(
    db: Database, pipeline: Pipeline, objects: ObjectStore, deletion: asyncpg.Record
) -> None:
    """Rows, then points, then objects; each step is recorded, and each is safe to repeat."""
    tenant_id, run_id, state = deletion["tenant_id"], deletion["run_id"], deletion["state"]
    if state == "pending":
        async with db.unit_of_work() as uow:
            await store.delete_run_items(uow.conn, tenant_id=tenant_id, run_id=run_id)
            await store.delete_run_rows(uow.conn, tenant_id=tenant_id, run_id=run_id)
        state = "rows_deleted"
    if state == "rows_deleted":
        await pipeline.vectors.delete_run(tenant_id, run_id)
        async with db.unit_of_work() as uow:
            await store.set_deletion_state(
                uow.conn, tenant_id=tenant_id, run_id=run_id, state="points_deleted"
            )
        state = "points_deleted"
    if state == "points_deleted":
        async with db.connection() as conn:
            keys = await store.deletion_keys(conn, tenant_id=tenant_id, run_id=run_id)
            orphans = await store.unreferenced_keys(conn, keys)
        await objects.delete_many(orphans)
        async with db.unit_of_work() as uow:
            await store.set_deletion_state(uow.conn, tenant_id=tenant_id, run_id=run_id, state="done")
        log.info("run %s deleted: rows, points and %d objects", run_id, len(orphans))
