"""Runs, submissions, uploads and the run-progress read model."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.ingest.domain.progress import RunState
from services.ingest.store.rows import PROGRESS_COUNTERS, Row, row_or_none
from shared.db import Connection

# --- runs ------------------------------------------------------------------------------------


async def create_run(
    conn: Connection,
    *,
    run_id: UUID,
    tenant_id: UUID,
    job_id: UUID | None,
    submission_id: UUID | None = None,
    idempotency_key: str | None = None,
    kind: str = "crawl",
    trigger: str = "api",
    scheduled_for: datetime | None = None,
    documents_expected: int | None = None,
) -> tuple[UUID, bool]:
    """The run for this idempotency key (or schedule fire): (id, created). An existing one
    is returned as it is: concurrent starts with one key wait for each other and agree."""
    created: UUID | None = await conn.fetchval(
        """INSERT INTO runs (id, tenant_id, job_id, submission_id, idempotency_key, status, started_at,
                             kind, trigger, scheduled_for)
           VALUES ($1, $2, $3, $4, $5, 'running', now(), $6, $7, $8)
           ON CONFLICT DO NOTHING RETURNING id""",
        run_id,
        tenant_id,
        job_id,
        submission_id,
        idempotency_key,
        kind,
        trigger,
        scheduled_for,
    )
    if created is not None:
        await conn.execute(
            "INSERT INTO run_progress (run_id, tenant_id, documents_expected) VALUES ($1, $2, $3)",
            created,
            tenant_id,
            documents_expected,
        )
        return created, True
    existing = await existing_run(
        conn, tenant_id=tenant_id, idempotency_key=idempotency_key, job_id=job_id, scheduled_for=scheduled_for
    )
    assert existing is not None, "a run conflicted with one that does not exist"
    return existing, False


async def existing_run(
    conn: Connection,
    *,
    tenant_id: UUID,
    idempotency_key: str | None,
    job_id: UUID | None,
    scheduled_for: datetime | None,
) -> UUID | None:
    """The run this idempotency key (or this job's schedule fire) started, if any."""
    found: UUID | None = await conn.fetchval(
        """SELECT id FROM runs WHERE tenant_id = $1
              AND ((idempotency_key = $2) OR (job_id = $3 AND scheduled_for = $4))""",
        tenant_id,
        idempotency_key,
        job_id,
        scheduled_for,
    )
    return found


async def run_job_id(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> UUID | None:
    job_id: UUID | None = await conn.fetchval(
        "SELECT job_id FROM runs WHERE tenant_id = $1 AND id = $2", tenant_id, run_id
    )
    return job_id


async def record_rejection(
    conn: Connection, *, submission_id: UUID, tenant_id: UUID, reasons: list[str]
) -> None:
    await conn.execute(
        """INSERT INTO rejected_submissions (submission_id, tenant_id, reasons) VALUES ($1, $2, $3)
           ON CONFLICT (submission_id) DO NOTHING""",
        submission_id,
        tenant_id,
        reasons,
    )


async def submission_outcome(conn: Connection, *, tenant_id: UUID, submission_id: UUID) -> Row | None:
    """What intake made of a JobSubmitted: its run, or its rejection reasons (None: not taken yet)."""
    run_id = await conn.fetchval(
        "SELECT id FROM runs WHERE tenant_id = $1 AND submission_id = $2", tenant_id, submission_id
    )
    if run_id is not None:
        return {"status": "accepted", "run_id": run_id, "reasons": []}
    reasons = await conn.fetchval(
        "SELECT reasons FROM rejected_submissions WHERE tenant_id = $1 AND submission_id = $2",
        tenant_id,
        submission_id,
    )
    return None if reasons is None else {"status": "rejected", "run_id": None, "reasons": reasons}


_RUN_COLUMNS = """r.id, r.tenant_id, r.job_id, r.kind, r.trigger, r.status, r.idempotency_key,
                  r.scheduled_for, r.created_at, r.started_at, r.finished_at, j.name AS job_name,
                  greatest(p.pages_fetched, p.pages_reported) AS pages_fetched, p.pages_failed,
                  p.pages_total, p.refusals, p.pages_published, p.documents_indexed,
                  p.documents_expected, p.chunks_indexed, p.items_found, p.items_extracted, p.llm_tasks_done,
                  p.errors, p.extractor_outcomes, p.tokens, p.parts_completed, p.updated_at,
                  p.keyword_expansion"""
_RUN_FROM = """FROM runs r LEFT JOIN run_progress p ON p.run_id = r.id
               LEFT JOIN jobs j ON j.id = r.job_id AND j.tenant_id = r.tenant_id"""


async def run_with_progress(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> Row | None:
    return row_or_none(
        await conn.fetchrow(
            f"SELECT {_RUN_COLUMNS} {_RUN_FROM} WHERE r.id = $1 AND r.tenant_id = $2", run_id, tenant_id
        )
    )


async def list_runs(
    conn: Connection, *, tenant_id: UUID, job_id: UUID | None, status: str | None, limit: int
) -> list[Row]:
    rows = await conn.fetch(
        f"""SELECT {_RUN_COLUMNS} {_RUN_FROM}
             WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.job_id = $2)
               AND ($3::text IS NULL OR r.status = $3)
             ORDER BY r.created_at DESC LIMIT $4""",
        tenant_id,
        job_id,
        status,
        limit,
    )
    return [dict(row) for row in rows]


async def count_active_runs(conn: Connection, *, tenant_id: UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM runs WHERE tenant_id = $1 AND status IN ('queued', 'running')", tenant_id
    )
    return count


async def set_run_status(conn: Connection, *, run_id: UUID, tenant_id: UUID, status: str) -> None:
    await conn.execute(
        """UPDATE runs SET status = $3,
                  finished_at = CASE WHEN $3 IN ('completed', 'failed', 'cancelled') THEN now() END
            WHERE id = $1 AND tenant_id = $2""",
        run_id,
        tenant_id,
        status,
    )


async def delete_run(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM runs WHERE tenant_id = $1 AND id = $2 RETURNING true", tenant_id, run_id
    )
    return bool(deleted)


# --- progress read model ----------------------------------------------------------------------


async def add_progress(conn: Connection, *, run_id: UUID, tenant_id: UUID, **increments: int) -> None:
    unknown = set(increments) - set(PROGRESS_COUNTERS)
    if unknown:
        raise ValueError(f"unknown progress counters: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = {name} + ${index}" for index, name in enumerate(increments, start=3))
    await conn.execute(
        f"UPDATE run_progress SET {assignments}, updated_at = now() WHERE run_id = $1 AND tenant_id = $2",
        run_id,
        tenant_id,
        *increments.values(),
    )


async def note_crawl_progress(
    conn: Connection,
    *,
    run_id: UUID,
    tenant_id: UUID,
    pages_total: int,
    pages_failed: int,
    pages_crawled: int = 0,
    refusals: dict[str, int] | None = None,
    keyword_expansion: dict[str, Any] | None = None,
) -> None:
    """The crawler's reports are snapshots; keep the largest seen (reports may arrive out of
    order; the refusals of the report with the most pages crawled; a keyword expansion's
    outcome over its still being awaited)."""
    await conn.execute(
        """UPDATE run_progress SET pages_total = greatest(pages_total, $3),
                  pages_failed = greatest(pages_failed, $4),
                  refusals = CASE WHEN $5 >= pages_reported AND $6::jsonb IS NOT NULL
                                  THEN $6::jsonb ELSE refusals END,
                  keyword_expansion = CASE WHEN $7::jsonb IS NOT NULL AND (keyword_expansion IS NULL
                                                OR keyword_expansion->>'state' = 'requested')
                                           THEN $7::jsonb ELSE keyword_expansion END,
                  pages_reported = greatest(pages_reported, $5), updated_at = now()
            WHERE run_id = $1 AND tenant_id = $2""",
        run_id,
        tenant_id,
        pages_total,
        pages_failed,
        pages_crawled,
        refusals,
        keyword_expansion,
    )


async def mark_part_completed(
    conn: Connection,
    *,
    run_id: UUID,
    tenant_id: UUID,
    part: str,
    status: str,
    pages_published: int | None,
) -> None:
    await conn.execute(
        """UPDATE run_progress SET parts_completed = array_append(parts_completed, $3),
                  crawler_status = CASE WHEN $3 = 'crawler' THEN $4 ELSE crawler_status END,
                  pages_published = CASE WHEN $3 = 'crawler' THEN $5 ELSE pages_published END,
                  updated_at = now()
            WHERE run_id = $1 AND tenant_id = $2 AND NOT ($3 = ANY(parts_completed))""",
        run_id,
        tenant_id,
        part,
        status,
        pages_published,
    )


async def lock_run_state(
    conn: Connection, *, run_id: UUID, tenant_id: UUID
) -> tuple[UUID | None, RunState] | None:
    """The run's job and what decides its completion, locked until the transaction ends."""
    row = await conn.fetchrow(
        """SELECT r.job_id, r.kind, r.status, p.crawler_status, p.pages_published, p.documents_expected,
                  p.extractor_outcomes, p.extractor_failures, p.items_announced, p.items_found
             FROM runs r JOIN run_progress p ON p.run_id = r.id
            WHERE r.id = $1 AND r.tenant_id = $2 FOR UPDATE OF r""",
        run_id,
        tenant_id,
    )
    if row is None:
        return None
    state = RunState(
        kind=row["kind"],
        status=row["status"],
        crawler_status=row["crawler_status"],
        pages_published=row["pages_published"],
        documents_expected=row["documents_expected"],
        extractor_outcomes=row["extractor_outcomes"],
        extractor_failures=row["extractor_failures"],
        items_announced=row["items_announced"],
        items_found=row["items_found"],
    )
    return row["job_id"], state


async def insert_upload(
    conn: Connection,
    *,
    document_id: UUID,
    tenant_id: UUID,
    run_id: UUID,
    filename: str,
    content_type: str,
    s3_key: str,
    size: int,
) -> None:
    await conn.execute(
        """INSERT INTO uploads (document_id, tenant_id, run_id, filename, content_type, s3_key, size)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        document_id,
        tenant_id,
        run_id,
        filename,
        content_type,
        s3_key,
        size,
    )
