"""A run's images, and the validation jobs that judge them with their verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from services.crawler.domain.validation import Candidate, Verdict
from shared.db import Connection

_CANDIDATE = """i.id, i.run_id, i.url_hash AS image_key, i.sha256, i.phash, i.width, i.height,
                i.format, i.bytes, i.decode_error, i.pixel_stddev"""


async def create_validation(
    conn: Connection, *, validation_id: UUID, tenant_id: UUID, run_id: UUID, rules: dict[str, Any]
) -> bool:
    """A pending validation of the images the run holds now (later ones are another job's).
    False when the run is unknown to the crawler (deleted, or another tenant's)."""
    created = await conn.fetchval(
        """INSERT INTO validations (validation_id, tenant_id, run_id, rules, total, max_image_id)
           SELECT $1, $2, $3, $4, count(i.id), coalesce(max(i.id), 0)
             FROM crawl_runs c LEFT JOIN images i ON i.run_id = c.run_id AND i.s3_key IS NOT NULL
            WHERE c.run_id = $3 AND c.tenant_id = $2
            GROUP BY c.run_id
           ON CONFLICT (validation_id) DO NOTHING
        RETURNING true""",
        validation_id,
        tenant_id,
        run_id,
        rules,
    )
    return bool(created)


async def lease_validation(conn: Connection, *, owner: UUID, lease_seconds: float) -> asyncpg.Record | None:
    """The oldest open validation nobody holds (or whose holder's lease ran out), with the
    project of its run."""
    return await conn.fetchrow(
        """UPDATE validations v
              SET lease_owner = $1, leased_until = now() + make_interval(secs => $2),
                  status = 'running', started_at = coalesce(v.started_at, now())
            WHERE v.validation_id = (
                  SELECT validation_id FROM validations
                   WHERE status IN ('pending', 'running') AND (leased_until IS NULL OR leased_until < now())
                   ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING v.*, (SELECT project_id FROM crawl_runs c WHERE c.run_id = v.run_id) AS project_id""",
        owner,
        lease_seconds,
    )


async def images_to_judge(
    conn: Connection, *, run_id: UUID, after_id: int, upto_id: int, limit: int
) -> list[Candidate]:
    rows = await conn.fetch(
        f"""SELECT {_CANDIDATE} FROM images i
             WHERE i.run_id = $1 AND i.s3_key IS NOT NULL AND i.id > $2 AND i.id <= $3
             ORDER BY i.id LIMIT $4""",
        run_id,
        after_id,
        upto_id,
        limit,
    )
    return [Candidate(**dict(row)) for row in rows]


async def found_valid(conn: Connection, *, validation_id: UUID, upto_id: int) -> list[Candidate]:
    """The images this validation found valid up to `upto_id` (a resumed job's originals)."""
    rows = await conn.fetch(
        f"""SELECT {_CANDIDATE} FROM image_verdicts v JOIN images i ON i.id = v.image_id
             WHERE v.validation_id = $1 AND v.valid AND i.id <= $2 ORDER BY i.id""",
        validation_id,
        upto_id,
    )
    return [Candidate(**dict(row)) for row in rows]


async def project_images(
    conn: Connection, *, tenant_id: UUID, project_id: UUID, run_id: UUID
) -> list[Candidate]:
    """The stored images of the project's other runs."""
    rows = await conn.fetch(
        f"""SELECT {_CANDIDATE} FROM images i JOIN crawl_runs c ON c.run_id = i.run_id
             WHERE c.tenant_id = $1 AND c.project_id = $2 AND c.run_id <> $3 AND i.s3_key IS NOT NULL
             ORDER BY i.id""",
        tenant_id,
        project_id,
        run_id,
    )
    return [Candidate(**dict(row)) for row in rows]


async def record_verdicts(
    conn: Connection,
    *,
    validation_id: UUID,
    tenant_id: UUID,
    owner: UUID,
    verdicts: Sequence[Verdict],
    lease_seconds: float,
) -> asyncpg.Record | None:
    """Store a batch's verdicts, move the job on and renew its lease; None when this worker
    lost the lease."""
    advanced = await conn.fetchrow(
        """UPDATE validations
              SET validated = validated + $3, invalid = invalid + $4, last_image_id = $5,
                  leased_until = now() + make_interval(secs => $6)
            WHERE validation_id = $1 AND lease_owner = $2
        RETURNING *""",
        validation_id,
        owner,
        len(verdicts),
        sum(1 for verdict in verdicts if not verdict.valid),
        max((verdict.image.id for verdict in verdicts), default=0),
        lease_seconds,
    )
    if advanced is None:
        return None
    await conn.executemany(
        """INSERT INTO image_verdicts (validation_id, image_id, tenant_id, valid, reasons, duplicate_of)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        [
            (
                validation_id,
                v.image.id,
                tenant_id,
                v.valid,
                list(v.reasons),
                None if v.duplicate_of is None else v.duplicate_of.id,
            )
            for v in verdicts
        ],
    )
    return advanced


async def finish_validation(
    conn: Connection, *, validation_id: UUID, owner: UUID, status: str, error: str | None = None
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """UPDATE validations
              SET status = $3, error_message = $4, completed_at = now(),
                  lease_owner = NULL, leased_until = NULL
            WHERE validation_id = $1 AND lease_owner = $2
        RETURNING *""",
        validation_id,
        owner,
        status,
        error,
    )


async def reasons_histogram(conn: Connection, *, validation_id: UUID) -> dict[str, int]:
    rows = await conn.fetch(
        """SELECT reason, count(*) AS n FROM image_verdicts, unnest(reasons) AS reason
            WHERE validation_id = $1 GROUP BY reason ORDER BY reason""",
        validation_id,
    )
    return {row["reason"]: row["n"] for row in rows}


async def run_known(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM crawl_runs WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id
        )
    )


async def chosen_validation(
    conn: Connection, *, tenant_id: UUID, run_id: UUID, validation_id: UUID | None
) -> asyncpg.Record | None:
    """The validation asked for, or else the run's latest completed one (the latest of any
    status when none has completed yet)."""
    return await conn.fetchrow(
        """SELECT * FROM validations
            WHERE tenant_id = $1 AND run_id = $2 AND ($3::uuid IS NULL OR validation_id = $3)
            ORDER BY (status = 'completed') DESC, created_at DESC LIMIT 1""",
        tenant_id,
        run_id,
        validation_id,
    )


async def run_images(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID,
    validation_id: UUID | None,
    valid: bool | None,
    label: str | None,
    reason: str | None,
    after_id: int,
    limit: int,
) -> list[asyncpg.Record]:
    """One page of the run's stored images in the order they were found, each with its verdict
    in `validation_id` (None: not judged by it)."""
    return await conn.fetch(
        """SELECT i.id, i.url_hash AS image_key, i.url, i.page_url, i.alt_text, i.label, i.width, i.height,
                  i.format, i.bytes, i.sha256, i.phash, i.exif_orientation, i.decode_error, i.s3_key,
                  i.thumbnail_key, i.content_type, i.provenance, i.fetched_at,
                  v.valid, coalesce(v.reasons, '{}') AS reasons, d.url_hash AS duplicate_of
             FROM images i
             LEFT JOIN image_verdicts v ON v.image_id = i.id AND v.validation_id = $3
             LEFT JOIN images d ON d.id = v.duplicate_of
            WHERE i.run_id = $2 AND i.tenant_id = $1 AND i.s3_key IS NOT NULL AND i.id > $4
              AND ($5::boolean IS NULL OR v.valid = $5)
              AND ($6::text IS NULL OR i.label = $6)
              AND ($7::text IS NULL OR $7 = ANY (v.reasons))
            ORDER BY i.id LIMIT $8""",
        tenant_id,
        run_id,
        validation_id,
        after_id,
        valid,
        label,
        reason,
        limit,
    )
