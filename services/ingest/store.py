"""The ingest service's SQL; nothing else touches its tables.

Every query on customer rows filters on tenant_id. The exceptions say why: a key lookup by
its hash (the key is what tells the tenant) and the scheduler's scan of due jobs (a system
process acting for every tenant; each run it creates carries the job's own tenant).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from services.ingest.domain.progress import RunState
from services.ingest.domain.ratelimit import Bucket
from shared.db import Connection
from shared.events import JobConfig

PROGRESS_COUNTERS = (
    "pages_fetched",
    "pages_failed",
    "documents_indexed",
    "chunks_indexed",
    "items_extracted",
    "llm_tasks_done",
    "errors",
    "extractor_outcomes",
    "tokens",
)

Row = dict[str, Any]


def _row(record: Any) -> Row | None:
    return dict(record) if record is not None else None


# --- tenants, users, keys -------------------------------------------------------------------


async def create_tenant(
    conn: Connection, *, tenant_id: UUID, name: str, quota_pages_monthly: int, max_active_runs: int
) -> None:
    await conn.execute(
        "INSERT INTO tenants (id, name, quota_pages_monthly, max_active_runs) VALUES ($1, $2, $3, $4)",
        tenant_id,
        name,
        quota_pages_monthly,
        max_active_runs,
    )


async def get_tenant(conn: Connection, *, tenant_id: UUID) -> Row | None:
    return _row(await conn.fetchrow("SELECT * FROM tenants WHERE id = $1", tenant_id))


async def update_tenant_limits(
    conn: Connection, *, tenant_id: UUID, quota_pages_monthly: int | None, max_active_runs: int | None
) -> Row | None:
    return _row(
        await conn.fetchrow(
            """UPDATE tenants SET quota_pages_monthly = coalesce($2, quota_pages_monthly),
                      max_active_runs = coalesce($3, max_active_runs)
                WHERE id = $1 RETURNING *""",
            tenant_id,
            quota_pages_monthly,
            max_active_runs,
        )
    )


async def create_user(conn: Connection, *, user_id: UUID, tenant_id: UUID, email: str, role: str) -> bool:
    """False when the tenant already has a user with this email."""
    created = await conn.fetchval(
        """INSERT INTO users (id, tenant_id, email, role) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, email) DO NOTHING RETURNING true""",
        user_id,
        tenant_id,
        email,
        role,
    )
    return bool(created)


async def get_user(conn: Connection, *, tenant_id: UUID, user_id: UUID) -> Row | None:
    return _row(
        await conn.fetchrow("SELECT * FROM users WHERE tenant_id = $1 AND id = $2", tenant_id, user_id)
    )


async def list_users(conn: Connection, *, tenant_id: UUID) -> list[Row]:
    rows = await conn.fetch("SELECT * FROM users WHERE tenant_id = $1 ORDER BY created_at", tenant_id)
    return [dict(row) for row in rows]


async def create_key(
    conn: Connection,
    *,
    key_id: UUID,
    tenant_id: UUID,
    user_id: UUID,
    name: str,
    prefix: str,
    digest: bytes,
    scopes: list[str],
    expires_at: datetime | None,
) -> Row:
    row = await conn.fetchrow(
        """INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, key_hash, scopes, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *""",
        key_id,
        tenant_id,
        user_id,
        name,
        prefix,
        digest,
        scopes,
        expires_at,
    )
    assert row is not None
    return dict(row)


async def key_by_digest(conn: Connection, digest: bytes) -> Row | None:
    """The key with this hash and its user's role (by hash: the key is what names the tenant)."""
    return _row(
        await conn.fetchrow(
            """SELECT k.id, k.tenant_id, k.user_id, k.scopes, k.expires_at, k.revoked_at, u.role
                 FROM api_keys k JOIN users u ON u.id = k.user_id AND u.tenant_id = k.tenant_id
                WHERE k.key_hash = $1""",
            digest,
        )
    )


async def list_keys(conn: Connection, *, tenant_id: UUID, user_id: UUID | None) -> list[Row]:
    rows = await conn.fetch(
        """SELECT * FROM api_keys WHERE tenant_id = $1 AND ($2::uuid IS NULL OR user_id = $2)
            ORDER BY created_at""",
        tenant_id,
        user_id,
    )
    return [dict(row) for row in rows]


async def revoke_key(conn: Connection, *, tenant_id: UUID, key_id: UUID, user_id: UUID | None) -> bool:
    """False when no such key (of this user, when one is given)."""
    revoked = await conn.fetchval(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
            WHERE tenant_id = $1 AND id = $2 AND ($3::uuid IS NULL OR user_id = $3) RETURNING true""",
        tenant_id,
        key_id,
        user_id,
    )
    return bool(revoked)


async def lock_bucket(conn: Connection, *, tenant_id: UUID, key_id: UUID) -> Bucket | None:
    row = await conn.fetchrow(
        "SELECT tokens, refilled_at FROM rate_buckets WHERE tenant_id = $1 AND key_id = $2 FOR UPDATE",
        tenant_id,
        key_id,
    )
    return None if row is None else Bucket(tokens=row["tokens"], refilled_at=row["refilled_at"])


async def save_bucket(conn: Connection, *, tenant_id: UUID, key_id: UUID, bucket: Bucket) -> None:
    await conn.execute(
        """INSERT INTO rate_buckets (key_id, tenant_id, tokens, refilled_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (key_id) DO UPDATE SET tokens = EXCLUDED.tokens, refilled_at = EXCLUDED.refilled_at""",
        key_id,
        tenant_id,
        bucket.tokens,
        bucket.refilled_at,
    )


# --- projects and extractor schemas ---------------------------------------------------------


async def create_project(
    conn: Connection, *, project_id: UUID, tenant_id: UUID, name: str, description: str
) -> Row:
    row = await conn.fetchrow(
        "INSERT INTO projects (id, tenant_id, name, description) VALUES ($1, $2, $3, $4) RETURNING *",
        project_id,
        tenant_id,
        name,
        description,
    )
    assert row is not None
    return dict(row)


async def get_project(conn: Connection, *, tenant_id: UUID, project_id: UUID) -> Row | None:
    return _row(
        await conn.fetchrow("SELECT * FROM projects WHERE tenant_id = $1 AND id = $2", tenant_id, project_id)
    )


async def list_projects(conn: Connection, *, tenant_id: UUID) -> list[Row]:
    rows = await conn.fetch("SELECT * FROM projects WHERE tenant_id = $1 ORDER BY created_at DESC", tenant_id)
    return [dict(row) for row in rows]


async def create_extractor_schema(
    conn: Connection, *, tenant_id: UUID, schema_id: UUID, **fields: Any
) -> Row | None:
    """None when the tenant already has this name and version."""
    return _row(
        await conn.fetchrow(
            """INSERT INTO extractor_schemas (id, tenant_id, name, version, definition,
                                              strict_validation, allow_extra_fields, is_public)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (tenant_id, name, version) DO NOTHING RETURNING *""",
            schema_id,
            tenant_id,
            fields["name"],
            fields["version"],
            fields["definition"],
            fields["strict_validation"],
            fields["allow_extra_fields"],
            fields["is_public"],
        )
    )


async def visible_extractor_schema(conn: Connection, *, tenant_id: UUID, schema_id: UUID) -> Row | None:
    """The tenant's own schema, or another tenant's public one."""
    return _row(
        await conn.fetchrow(
            "SELECT * FROM extractor_schemas WHERE id = $2 AND (tenant_id = $1 OR is_public)",
            tenant_id,
            schema_id,
        )
    )


async def list_extractor_schemas(conn: Connection, *, tenant_id: UUID) -> list[Row]:
    rows = await conn.fetch(
        """SELECT * FROM extractor_schemas WHERE tenant_id = $1 OR is_public
            ORDER BY name, version""",
        tenant_id,
    )
    return [dict(row) for row in rows]


async def delete_extractor_schema(conn: Connection, *, tenant_id: UUID, schema_id: UUID) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM extractor_schemas WHERE tenant_id = $1 AND id = $2 RETURNING true", tenant_id, schema_id
    )
    return bool(deleted)


# --- jobs -------------------------------------------------------------------------------------


async def upsert_job(
    conn: Connection,
    *,
    job_id: UUID,
    tenant_id: UUID,
    config: JobConfig,
    extractor_schema_id: UUID | None = None,
    next_fire_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> bool:
    """Create the job, or update it when the tenant already has it; False when the id is
    another tenant's."""
    schedule = config.schedule
    stored = await conn.fetchval(
        """INSERT INTO jobs (id, tenant_id, kind, name, config, project_id, extractor_schema_id,
                             schedule_cron, schedule_timezone, next_fire_at, idempotency_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, name = EXCLUDED.name,
                  kind = EXCLUDED.kind, project_id = EXCLUDED.project_id,
                  extractor_schema_id = EXCLUDED.extractor_schema_id,
                  schedule_cron = EXCLUDED.schedule_cron, schedule_timezone = EXCLUDED.schedule_timezone,
                  next_fire_at = EXCLUDED.next_fire_at, updated_at = now()
            WHERE jobs.tenant_id = EXCLUDED.tenant_id
           RETURNING true""",
        job_id,
        tenant_id,
        config.kind.value,
        config.name,
        config.model_dump(mode="json"),
        config.project_id,
        extractor_schema_id,
        schedule.cron if schedule else None,
        schedule.timezone if schedule else None,
        next_fire_at,
        idempotency_key,
    )
    return bool(stored)


async def job_by_idempotency_key(conn: Connection, *, tenant_id: UUID, idempotency_key: str) -> Row | None:
    return _row(
        await conn.fetchrow(
            "SELECT * FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2", tenant_id, idempotency_key
        )
    )


async def get_job(conn: Connection, *, tenant_id: UUID, job_id: UUID) -> Row | None:
    return _row(await conn.fetchrow("SELECT * FROM jobs WHERE tenant_id = $1 AND id = $2", tenant_id, job_id))


async def list_jobs(conn: Connection, *, tenant_id: UUID, project_id: UUID | None, limit: int) -> list[Row]:
    rows = await conn.fetch(
        """SELECT * FROM jobs WHERE tenant_id = $1 AND ($2::uuid IS NULL OR project_id = $2)
            ORDER BY created_at DESC LIMIT $3""",
        tenant_id,
        project_id,
        limit,
    )
    return [dict(row) for row in rows]


async def delete_job(conn: Connection, *, tenant_id: UUID, job_id: UUID) -> list[UUID] | None:
    """Deletes the job and its runs; returns the deleted runs' ids (None: no such job)."""
    runs = await conn.fetch("SELECT id FROM runs WHERE tenant_id = $1 AND job_id = $2", tenant_id, job_id)
    deleted = await conn.fetchval(
        "DELETE FROM jobs WHERE tenant_id = $1 AND id = $2 RETURNING true", tenant_id, job_id
    )
    return [row["id"] for row in runs] if deleted else None


async def lock_due_jobs(conn: Connection, *, now: datetime, limit: int) -> list[Row]:
    """Scheduled jobs whose next fire has come, locked; other replicas skip them."""
    rows = await conn.fetch(
        """SELECT * FROM jobs WHERE next_fire_at IS NOT NULL AND next_fire_at <= $1
            ORDER BY next_fire_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
        now,
        limit,
    )
    return [dict(row) for row in rows]


async def set_next_fire(conn: Connection, *, tenant_id: UUID, job_id: UUID, next_fire_at: datetime) -> None:
    await conn.execute(
        "UPDATE jobs SET next_fire_at = $3 WHERE tenant_id = $1 AND id = $2", tenant_id, job_id, next_fire_at
    )


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
                  p.pages_fetched, p.pages_failed, p.pages_total, p.pages_published, p.documents_indexed,
                  p.documents_expected, p.chunks_indexed, p.items_extracted, p.llm_tasks_done,
                  p.errors, p.extractor_outcomes, p.tokens, p.parts_completed, p.updated_at"""
_RUN_FROM = """FROM runs r LEFT JOIN run_progress p ON p.run_id = r.id
               LEFT JOIN jobs j ON j.id = r.job_id AND j.tenant_id = r.tenant_id"""


async def run_with_progress(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> Row | None:
    return _row(
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
    conn: Connection, *, run_id: UUID, tenant_id: UUID, pages_total: int, pages_failed: int
) -> None:
    """The crawler's reports are snapshots; keep the largest seen (reports may arrive out of order)."""
    await conn.execute(
        """UPDATE run_progress SET pages_total = greatest(pages_total, $3),
                  pages_failed = greatest(pages_failed, $4), updated_at = now()
            WHERE run_id = $1 AND tenant_id = $2""",
        run_id,
        tenant_id,
        pages_total,
        pages_failed,
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
                  p.extractor_outcomes
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
    )
    return row["job_id"], state


# --- uploads, usage, audit --------------------------------------------------------------------


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


async def add_usage(
    conn: Connection, *, tenant_id: UUID, period: date, pages: int = 0, tokens: int = 0
) -> None:
    await conn.execute(
        """INSERT INTO usage (tenant_id, period, pages_fetched, tokens) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, period) DO UPDATE
              SET pages_fetched = usage.pages_fetched + $3, tokens = usage.tokens + $4""",
        tenant_id,
        period,
        pages,
        tokens,
    )


async def usage(conn: Connection, *, tenant_id: UUID, period: date) -> Row:
    row = await conn.fetchrow(
        "SELECT pages_fetched, tokens FROM usage WHERE tenant_id = $1 AND period = $2", tenant_id, period
    )
    return dict(row) if row is not None else {"pages_fetched": 0, "tokens": 0}


async def insert_audit(conn: Connection, **entry: Any) -> None:
    await conn.execute(
        """INSERT INTO audit_log (tenant_id, actor, action, resource, status, request_id, ip, user_agent)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        entry["tenant_id"],
        entry["actor"],
        entry["action"],
        entry["resource"],
        entry["status"],
        entry["request_id"],
        entry["ip"],
        entry["user_agent"],
    )


async def list_audit(conn: Connection, *, tenant_id: UUID, limit: int) -> list[Row]:
    rows = await conn.fetch(
        "SELECT * FROM audit_log WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2", tenant_id, limit
    )
    return [dict(row) for row in rows]
