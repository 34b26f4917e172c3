"""The exports table: requested, leased by a worker, progressing, finished, swept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.db import Connection
from shared.events import ExportFile, ExportRequested

Record = Any

_LIVE = "status <> 'deleted'"


async def add_export(conn: Connection, request: ExportRequested, *, automatic: bool = False) -> bool:
    """Queued; an automatic export (a job's, at its run's end) waits for the run's rows first."""
    inserted = await conn.fetchval(
        """INSERT INTO exports (export_id, tenant_id, run_id, job_id, dataset, format, options,
                                link_ttl_seconds, requested_at, automatic, scope, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                   CASE WHEN $10 THEN 'waiting' ELSE 'queued' END)
           ON CONFLICT (export_id) DO NOTHING RETURNING true""",
        request.export_id,
        request.tenant_id,
        request.run_id,
        request.job_id,
        request.dataset.value,
        request.format.value,
        request.options.model_dump(mode="json"),
        request.link_ttl_seconds,
        request.requested_at,
        automatic,
        request.scope,
    )
    return bool(inserted)


async def expect_rows(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID,
    completed_at: datetime | None = None,
    chunk_indexed: int | None = None,
    items: int | None = None,
    images: int | None = None,
) -> None:
    """What a run's completion (the crawler's, then ingest's) says its events number."""
    await conn.execute(
        """INSERT INTO export_run_arrivals
                  (run_id, tenant_id, completed_at, expected_chunk_indexed, expected_items, expected_images)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (run_id) DO UPDATE
              SET completed_at = coalesce(EXCLUDED.completed_at, export_run_arrivals.completed_at),
                  expected_chunk_indexed = coalesce(EXCLUDED.expected_chunk_indexed,
                                                    export_run_arrivals.expected_chunk_indexed),
                  expected_items = coalesce(EXCLUDED.expected_items, export_run_arrivals.expected_items),
                  expected_images = coalesce(EXCLUDED.expected_images,
                                             export_run_arrivals.expected_images)""",
        run_id,
        tenant_id,
        completed_at,
        chunk_indexed,
        items,
        images,
    )


async def job_runs(conn: Connection, *, tenant_id: UUID, job_id: UUID) -> list[UUID]:
    """The job's runs this service knows and that were not deleted."""
    rows = await conn.fetch(
        "SELECT run_id FROM run_configs WHERE job_id = $1 AND tenant_id = $2", job_id, tenant_id
    )
    return [row["run_id"] for row in rows]


async def run_completed_at(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> datetime | None:
    completed: datetime | None = await conn.fetchval(
        "SELECT completed_at FROM export_run_arrivals WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id
    )
    return completed


async def release_waiting_exports(conn: Connection, *, max_wait_seconds: float) -> Sequence[Record]:
    """Queues the automatic exports whose run's rows have all arrived, or that waited
    `max_wait_seconds` (then `late`: the export says what it went without)."""
    return await conn.fetch(
        """WITH due AS (
               SELECT e.export_id,
                      (SELECT count(*) FROM export_items i WHERE i.run_id = e.run_id) AS items,
                      (SELECT count(*) FROM export_images m WHERE m.run_id = e.run_id) AS images,
                      a.chunk_indexed, a.expected_chunk_indexed, a.expected_items, a.expected_images,
                      e.requested_at < now() - make_interval(secs => $1) AS waited_enough
                 FROM exports e JOIN export_run_arrivals a ON a.run_id = e.run_id
                WHERE e.status = 'waiting'
                FOR UPDATE OF e SKIP LOCKED),
           ready AS (
               SELECT *, chunk_indexed >= coalesce(expected_chunk_indexed, 0)
                         AND items >= coalesce(expected_items, 0)
                         AND images >= coalesce(expected_images, 0) AS complete
                 FROM due)
           UPDATE exports e
              SET status = 'queued', next_attempt_at = now(), updated_at = now(),
                  note = CASE WHEN r.complete THEN NULL ELSE
                      format('exported before all of the run''s rows arrived: %s of %s items, %s of %s pages',
                             r.items, r.expected_items, r.chunk_indexed, r.expected_chunk_indexed) END
             FROM ready r
            WHERE e.export_id = r.export_id AND (r.complete OR r.waited_enough)
        RETURNING e.export_id, NOT r.complete AS late""",
        max_wait_seconds,
    )


async def lease_export(conn: Connection, *, lease_seconds: float) -> Record | None:
    """The oldest export waiting for its turn (or whose worker stopped renewing its lease),
    leased: its `attempts` is the lease's token."""
    return await conn.fetchrow(
        """UPDATE exports SET status = 'running', attempts = attempts + 1,
                              lease_until = now() + make_interval(secs => $1),
                              started_at = coalesce(started_at, now()), updated_at = now()
            WHERE export_id = (
                SELECT export_id FROM exports
                 WHERE (status = 'queued' OR (status = 'running' AND lease_until < now()))
                   AND next_attempt_at <= now()
                 ORDER BY next_attempt_at
                 LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING *""",
        lease_seconds,
    )


async def record_progress(
    conn: Connection,
    *,
    export_id: UUID,
    attempt: int,
    rows_written: int,
    rows_total: int | None,
    lease_seconds: float,
) -> bool:
    """Progress, and the lease renewed; False when the export is no longer this attempt's
    (deleted, or taken over after the lease ran out)."""
    renewed = await conn.fetchval(
        """UPDATE exports SET rows_written = $3, rows_total = coalesce($4, rows_total),
                              lease_until = now() + make_interval(secs => $5), updated_at = now()
            WHERE export_id = $1 AND attempts = $2 AND status = 'running' RETURNING true""",
        export_id,
        attempt,
        rows_written,
        rows_total,
        lease_seconds,
    )
    return bool(renewed)


async def complete_export(
    conn: Connection,
    *,
    export_id: UUID,
    attempt: int,
    files: Sequence[ExportFile],
) -> Record | None:
    """The export's files recorded (the first also as its s3_key and filename, the sizes summed)."""
    return await conn.fetchrow(
        """UPDATE exports SET status = 'completed', rows = $3, rows_written = $3, file_size = $4,
                              s3_key = $5, filename = $6, files = $7, completed_at = now(),
                              lease_until = NULL, error_message = NULL, updated_at = now(),
                              expires_at = now() + make_interval(secs => link_ttl_seconds)
            WHERE export_id = $1 AND attempts = $2 AND status = 'running' RETURNING *""",
        export_id,
        attempt,
        sum(file.rows for file in files),
        sum(file.size for file in files),
        files[0].s3_key,
        files[0].name,
        [file.model_dump(mode="json") for file in files],
    )


async def retry_later(conn: Connection, *, export_id: UUID, attempt: int, error: str, delay: float) -> bool:
    retried = await conn.fetchval(
        """UPDATE exports SET status = 'queued', lease_until = NULL, error_message = $3,
                              next_attempt_at = now() + make_interval(secs => $4), updated_at = now()
            WHERE export_id = $1 AND attempts = $2 AND status = 'running' RETURNING true""",
        export_id,
        attempt,
        error,
        delay,
    )
    return bool(retried)


async def fail_export(conn: Connection, *, export_id: UUID, attempt: int, error: str) -> Record | None:
    return await conn.fetchrow(
        """UPDATE exports SET status = 'failed', lease_until = NULL, error_message = $3,
                              completed_at = now(), updated_at = now()
            WHERE export_id = $1 AND attempts = $2 AND status = 'running' RETURNING *""",
        export_id,
        attempt,
        error,
    )


async def get_export(conn: Connection, *, tenant_id: UUID, export_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"SELECT * FROM exports WHERE export_id = $1 AND tenant_id = $2 AND {_LIVE}", export_id, tenant_id
    )


async def list_exports(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> Sequence[Record]:
    """Newest first."""
    moment, identifier = after if after is not None else (None, None)
    return await conn.fetch(
        f"""SELECT * FROM exports
             WHERE tenant_id = $1 AND {_LIVE} AND ($2::uuid IS NULL OR run_id = $2)
               AND ($3::timestamptz IS NULL OR (requested_at, export_id) < ($3, $4))
             ORDER BY requested_at DESC, export_id DESC LIMIT $5""",
        tenant_id,
        run_id,
        moment,
        identifier,
        limit,
    )


async def mark_deleted(conn: Connection, *, tenant_id: UUID, export_id: UUID) -> bool:
    """The export is gone for its tenant at once; its file waits for the sweeper."""
    deleted = await conn.fetchval(
        f"""UPDATE exports SET status = 'deleted', deleted_at = now(), lease_until = NULL, updated_at = now()
             WHERE export_id = $1 AND tenant_id = $2 AND {_LIVE} RETURNING true""",
        export_id,
        tenant_id,
    )
    return bool(deleted)


async def mark_run_deleted(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> None:
    await conn.execute(
        f"""UPDATE exports SET status = 'deleted', deleted_at = now(), lease_until = NULL, updated_at = now()
             WHERE run_id = $1 AND tenant_id = $2 AND {_LIVE}""",
        run_id,
        tenant_id,
    )


async def files_to_delete(conn: Connection, *, limit: int) -> Sequence[Record]:
    """Files whose link expired, or whose export was deleted."""
    return await conn.fetch(
        """SELECT export_id, s3_key, filename, file_size, rows, files, status FROM exports
            WHERE s3_key IS NOT NULL AND file_deleted_at IS NULL
              AND (expires_at <= now() OR status = 'deleted')
            ORDER BY expires_at LIMIT $1""",
        limit,
    )


async def file_deleted(conn: Connection, *, export_id: UUID) -> None:
    await conn.execute(
        """UPDATE exports SET file_deleted_at = now(), updated_at = now(),
                              status = CASE WHEN status = 'completed' THEN 'expired' ELSE status END
            WHERE export_id = $1""",
        export_id,
    )


async def running_exports(conn: Connection) -> Sequence[Record]:
    """Exports being written now (their lease alive): their multipart uploads are not stale."""
    return await conn.fetch(
        "SELECT tenant_id, export_id FROM exports WHERE status = 'running' AND lease_until > now()"
    )
