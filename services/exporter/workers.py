"""The exporter's background loops, thin adapters over its commands: the export workers (each
leases the next export waiting and writes it) and the sweeper."""

from __future__ import annotations

import asyncio
import logging

from services.exporter import metrics
from services.exporter.commands import running, sweeping
from shared.config import Settings
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime
from shared.uow import Database

log = logging.getLogger(__name__)


async def export_forever(runtime: ServiceRuntime) -> None:
    db = runtime.resources.get(Database)
    objects = runtime.resources.get(ObjectStore)
    settings = runtime.settings
    await asyncio.gather(*(_export_loop(db, objects, settings) for _ in range(settings.exporter_concurrency)))


async def _export_loop(db: Database, objects: ObjectStore, settings: Settings) -> None:
    while True:
        task = await running.next_export(db, settings)
        if task is None:
            await asyncio.sleep(settings.exporter_poll_seconds)
            continue
        metrics.EXPORTS_RUNNING.inc()
        try:
            await running.run_export(db, objects, settings, task)
        finally:
            metrics.EXPORTS_RUNNING.dec()


async def sweep_forever(runtime: ServiceRuntime) -> None:
    db = runtime.resources.get(Database)
    objects = runtime.resources.get(ObjectStore)
    settings = runtime.settings
    while True:
        deleted = await sweeping.delete_due_files(db, objects)
        aborted = await sweeping.abort_stale_uploads(
            db, objects, older_than_seconds=settings.exporter_stale_upload_seconds
        )
        if deleted or aborted:
            log.info("sweep: %d export files deleted, %d stale uploads aborted", deleted, aborted)
        await asyncio.sleep(settings.exporter_sweep_seconds)
