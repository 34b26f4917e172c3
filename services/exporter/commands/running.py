"""Making an export: the dataset's rows, shaped and encoded a page at a time off the event loop,
streamed into an S3 multipart upload (aborted if anything interrupts it), then the export
completed and ExportCompleted published in one unit of work. A failure is tried again after a
wait, up to the configured attempts, then the export fails with its reason; an export whose
worker died is taken up again when its lease runs out, from the start."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from uuid import UUID

from services.exporter import metrics, store
from services.exporter.commands import automatic
from services.exporter.commands.datasets import ExportTask, Snapshot
from services.exporter.domain import plan
from services.exporter.domain.encoders import Encoder
from services.exporter.domain.plan import ExportRefused
from services.exporter.domain.rows import Columns, Row, image_row, shape, shaped_rows
from shared import runs
from shared.config import Settings
from shared.events import ExportCompleted, ExportOptions
from shared.s3 import ObjectStore, tenant_key
from shared.uow import Database

log = logging.getLogger(__name__)

_PROGRESS_EVERY_SECONDS = 1.0


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
    """Records written so far (of `total`), saved (and the lease renewed) at most every second,
    and the rows they made in the file (more when a list is unwound)."""

    def __init__(self, db: Database, task: ExportTask, lease_seconds: float, total: int) -> None:
        self._db, self._task, self._lease_seconds, self._total = db, task, lease_seconds, total
        self.written = 0
        self.file_rows = 0
        self._saved_at = 0.0

    async def advance(self, records: int, file_rows: int | None = None) -> None:
        self.written += records
        self.file_rows += records if file_rows is None else file_rows
        if time.monotonic() - self._saved_at >= _PROGRESS_EVERY_SECONDS:
            await self.save()

    async def save(self) -> None:
        async with self._db.unit_of_work() as uow:
            ours = await store.record_progress(
                uow.conn,
                export_id=self._task.export_id,
                attempt=self._task.attempt,
                rows_written=self.written,
                rows_total=self._total,
                lease_seconds=self._lease_seconds,
            )
        if not ours:
            raise ExportLost(f"export {self._task.export_id} is no longer this worker's")
        self._saved_at = time.monotonic()


async def run_export(db: Database, objects: ObjectStore, settings: Settings, task: ExportTask) -> None:
    started = time.monotonic()
    try:
        async with db.connection() as conn:
            if await store.run_deleted(conn, tenant_id=task.tenant_id, run_id=task.run_id):
                raise ExportRefused(f"run {task.run_id} was deleted")
            # An upload run has no job configuration (nor extractor schema).
            config = await runs.run_config(conn, run_id=task.run_id, tenant_id=task.tenant_id)
        snapshot = await Snapshot.take(db, task)
        progress = Progress(db, task, settings.exporter_lease_seconds, await snapshot.count())
        await progress.save()
        filename = plan.filename(task.dataset, task.format, task.run_id)
        file_type = plan.FILE_TYPES[task.format]
        if task.format.is_archive:
            chunks = _archive_chunks(snapshot, objects, progress)
        else:
            schema = config.extractor_schema.definition if config and config.extractor_schema else None
            columns = plan.starting_columns(task.dataset, task.options, schema)
            chunks = _table_chunks(snapshot, objects, progress, columns)
        stored = await objects.upload_stream(
            export_prefix(task.tenant_id, task.export_id) + filename,
            chunks,
            content_type=file_type.content_type,
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
    await _complete(db, objects, task, progress.file_rows, stored.key, stored.size, filename)
    metrics.EXPORT_SECONDS.labels(task.format.value).observe(time.monotonic() - started)


async def _table_chunks(
    snapshot: Snapshot, objects: ObjectStore, progress: Progress, columns: Columns
) -> AsyncIterator[bytes]:
    options = snapshot.task.options
    if snapshot.task.format in plan.TABLE_FORMATS and not columns.fixed:
        # A first pass learns the columns and their types (a page at a time: only names are kept).
        async for rows in snapshot.rows(objects, with_markdown=False):
            await asyncio.to_thread(_observe, columns, rows, options)
            await progress.advance(0)  # keeps the lease
    encoder = plan.encoder(snapshot.task.format, columns, options)
    yield await asyncio.to_thread(encoder.start)
    async for rows in snapshot.rows(objects, with_markdown=options.markdown):
        encoded, file_rows = await asyncio.to_thread(_encode, encoder, rows, options)
        yield encoded
        await progress.advance(len(rows), file_rows)
    yield await asyncio.to_thread(encoder.finish)


def _observe(columns: Columns, rows: Sequence[Row], options: ExportOptions) -> None:
    columns.observe(shaped_rows(rows, options))


def _encode(encoder: Encoder, rows: Sequence[Row], options: ExportOptions) -> tuple[bytes, int]:
    """The rows' bytes in the file, and how many rows they made there."""
    shaped = shaped_rows(rows, options)
    return encoder.encode(shaped), len(shaped)


async def _archive_chunks(
    snapshot: Snapshot, objects: ObjectStore, progress: Progress
) -> AsyncIterator[bytes]:
    """The manifest first (its size counted in a pass before, as a tar entry announces it),
    then each image's bytes streamed from S3 into its entry."""
    task = snapshot.task
    archive = plan.archive(task.format)
    columns = plan.manifest_columns(task.options)
    manifest = f"manifest.{task.options.manifest}"
    size = sum([len(chunk) async for chunk in _manifest(snapshot, columns, progress)])
    yield archive.open_entry(manifest, size)
    async for chunk in _manifest(snapshot, columns, progress):
        yield archive.write(chunk)
    yield archive.close_entry()
    async for records in snapshot.records():
        for record in records:
            yield archive.open_entry(plan.image_path(record["image_key"], record["format"]), record["bytes"])
            async for chunk in objects.stream(record["s3_key"]):
                yield archive.write(chunk)
            yield archive.close_entry()
            await progress.advance(1)
    yield archive.finish()


async def _manifest(snapshot: Snapshot, columns: Columns, progress: Progress) -> AsyncIterator[bytes]:
    options = snapshot.task.options
    encoder = plan.manifest_encoder(options, columns)
    yield encoder.start()
    async for records in snapshot.records():
        rows = [
            shape({"file": plan.image_path(r["image_key"], r["format"]), **image_row(r)}, options)
            for r in records
        ]
        yield await asyncio.to_thread(encoder.encode, rows)
        await progress.advance(0)  # keeps the lease
    yield encoder.finish()


async def _complete(
    db: Database, objects: ObjectStore, task: ExportTask, rows: int, key: str, size: int, filename: str
) -> None:
    async with db.unit_of_work() as uow:
        record = await store.complete_export(
            uow.conn,
            export_id=task.export_id,
            attempt=task.attempt,
            rows=rows,
            file_size=size,
            s3_key=key,
            filename=filename,
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
                    s3_key=key,
                    completed_at=record["completed_at"],
                    expires_at=record["expires_at"],
                )
            )
    if record is None:
        # Deleted (or taken over) while the file was being finished: the file is nobody's.
        await objects.delete(key)
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
