"""Making an export: the dataset's rows, shaped and encoded a page at a time off the event loop,
each of its files streamed into an S3 multipart upload (aborted if anything interrupts it)
while the lease is renewed, then the export completed and ExportCompleted published in one
unit of work. A failure is tried again after a
wait, up to the configured attempts, then the export fails with its reason; an export whose
worker died is taken up again when its lease runs out, from the start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID

from services.exporter import metrics, store
from services.exporter.commands import automatic, files
from services.exporter.commands.datasets import ExportTask, Snapshot
from services.exporter.domain import plan
from services.exporter.domain.plan import ExportRefused
from shared import runs
from shared.config import Settings
from shared.events import ExportCompleted, ExportFile
from shared.s3 import ObjectStore, tenant_key
from shared.uow import Database

log = logging.getLogger(__name__)

_PROGRESS_EVERY_SECONDS = 1.0

T = TypeVar("T")


class ExportLost(RuntimeError):
    """The export was deleted, or taken over by another worker, while this one wrote it."""


def export_prefix(tenant_id: UUID, export_id: UUID) -> str:
    return tenant_key(tenant_id, "exports", str(export_id)) + "/"


async def next_export(db: Database, settings: Settings) -> ExportTask | None:
    await automatic.release_waiting(db, max_wait_seconds=settings.exporter_rows_wait_seconds)
    async with db.unit_of_work() as uow:
        record = await store.lease_export(uow.conn, lease_seconds=settings.exporter_lease_seconds)
    return None if record is None else ExportTask.of(record)


class Progress:
    """What `counter` says was written, of `total` records: `save` records it and renews the
    export's lease."""

    def __init__(self, db: Database, task: ExportTask, lease_seconds: float, total: int) -> None:
        self._db, self._task, self._lease_seconds, self._total = db, task, lease_seconds, total
        self.counter = files.Counter()

    async def save(self) -> None:
        async with self._db.unit_of_work() as uow:
            ours = await store.record_progress(
                uow.conn,
                export_id=self._task.export_id,
                attempt=self._task.attempt,
                rows_written=self.counter.records,
                rows_total=self._total,
                lease_seconds=self._lease_seconds,
            )
        if not ours:
            raise ExportLost(f"export {self._task.export_id} is no longer this worker's")

    async def while_leased(self, work: Awaitable[T]) -> T:
        """`work`'s result, the progress saved and the lease renewed every second meanwhile
        (whatever `work` is waiting for: a slow part upload included); `work` is cancelled
        (its upload aborted) when the export stops being this worker's."""
        every = min(_PROGRESS_EVERY_SECONDS, self._lease_seconds / 3)
        running = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({running}, timeout=every)
                if done:
                    return running.result()
                await self.save()
        except BaseException:
            running.cancel()
            with contextlib.suppress(BaseException):
                await running
            raise


async def run_export(db: Database, objects: ObjectStore, settings: Settings, task: ExportTask) -> None:
    started = time.monotonic()
    try:
        async with db.connection() as conn:
            deleted = await store.run_deleted(conn, tenant_id=task.tenant_id, run_id=task.run_id)
            if task.scope == "run" and deleted:
                raise ExportRefused(f"run {task.run_id} was deleted")
            # An upload run has no job configuration (nor extractor schema).
            config = await runs.run_config(conn, run_id=task.run_id, tenant_id=task.tenant_id)
        snapshot = await Snapshot.take(db, task)
        progress = Progress(db, task, settings.exporter_lease_seconds, await snapshot.count())
        await progress.save()
        columns = None
        if not task.format.is_archive:
            schema = config.extractor_schema.definition if config and config.extractor_schema else None
            columns = plan.starting_columns(task.dataset, task.options, schema)
            if task.format in plan.TABLE_FORMATS and not columns.fixed:
                await progress.while_leased(files.learn_columns(snapshot, objects, columns))
        made = await _upload(
            objects, task, progress, files.produce(snapshot, objects, progress.counter, columns)
        )
    except ExportLost:
        log.info("export %s was deleted or taken over; this attempt stops", task.export_id)
        return
    except ExportRefused as exc:
        await _fail(db, task, str(exc))
        return
    except Exception as exc:
        log.warning("export %s failed (attempt %d)", task.export_id, task.attempt, exc_info=True)
        await _retry_or_fail(db, settings, task, f"{type(exc).__name__}: {exc}"[:2000])
        return
    await _complete(db, objects, task, made)
    metrics.EXPORT_SECONDS.labels(task.format.value).observe(time.monotonic() - started)


async def _upload(
    objects: ObjectStore, task: ExportTask, progress: Progress, made: AsyncIterator[files.File]
) -> list[ExportFile]:
    """Each file streamed into S3 in turn; what they are."""
    content_type = plan.FILE_TYPES[task.format].content_type
    uploaded: list[ExportFile] = []
    async for name, chunks in made:
        rows_before = progress.counter.file_rows
        key = export_prefix(task.tenant_id, task.export_id) + name
        stored = await progress.while_leased(objects.upload_stream(key, chunks, content_type=content_type))
        rows = progress.counter.file_rows - rows_before
        uploaded.append(ExportFile(name=name, s3_key=stored.key, size=stored.size, rows=rows))
    return uploaded


async def _complete(db: Database, objects: ObjectStore, task: ExportTask, made: list[ExportFile]) -> None:
    rows, size = sum(file.rows for file in made), sum(file.size for file in made)
    async with db.unit_of_work() as uow:
        record = await store.complete_export(
            uow.conn, export_id=task.export_id, attempt=task.attempt, files=made
        )
        if record is not None:
            await uow.outbox.publish(
                ExportCompleted(
                    tenant_id=task.tenant_id,
                    export_id=task.export_id,
                    run_id=task.run_id,
                    format=task.format,
                    dataset=task.dataset,
                    status="completed",
                    rows=rows,
                    file_size=size,
                    s3_key=made[0].s3_key,
                    completed_at=record["completed_at"],
                    expires_at=record["expires_at"],
                    files=made if len(made) > 1 else [],
                )
            )
    if record is None:
        # Deleted (or taken over) while the files were being finished: they are nobody's.
        await objects.delete_many([file.s3_key for file in made])
        return
    metrics.EXPORTS.labels(task.format.value, "completed").inc()
    metrics.ROWS.labels(task.format.value).inc(rows)
    metrics.BYTES.labels(task.format.value).inc(size)


async def _retry_or_fail(db: Database, settings: Settings, task: ExportTask, error: str) -> None:
    if task.attempt >= settings.exporter_max_attempts:
        await _fail(db, task, f"failed {task.attempt} times; last: {error}")
        return
    async with db.unit_of_work() as uow:
        await store.retry_later(
            uow.conn,
            export_id=task.export_id,
            attempt=task.attempt,
            error=error,
            delay=plan.retry_delay(task.attempt, settings.exporter_retry_seconds),
        )


async def _fail(db: Database, task: ExportTask, error: str) -> None:
    async with db.unit_of_work() as uow:
        record = await store.fail_export(
            uow.conn, export_id=task.export_id, attempt=task.attempt, error=error
        )
        if record is not None:
            await uow.outbox.publish(
                ExportCompleted(
                    tenant_id=task.tenant_id,
                    export_id=task.export_id,
                    run_id=task.run_id,
                    format=task.format,
                    dataset=task.dataset,
                    status="failed",
                    error_message=error,
                    completed_at=record["completed_at"] or datetime.now(UTC),
                )
            )
    if record is not None:
        metrics.EXPORTS.labels(task.format.value, "failed").inc()
