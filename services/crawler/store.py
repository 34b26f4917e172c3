"""The crawler's SQL; nothing else touches its tables."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from shared.db import Connection


async def create_crawl_run(
    conn: Connection, *, run_id: UUID, tenant_id: UUID, job_id: UUID, max_pages: int, max_depth: int
) -> None:
    await conn.execute(
        """INSERT INTO crawl_runs (run_id, tenant_id, job_id, max_pages, max_depth)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id) DO NOTHING""",
        run_id,
        tenant_id,
        job_id,
        max_pages,
        max_depth,
    )


async def enqueue(
    conn: Connection,
    *,
    run_id: UUID,
    tenant_id: UUID,
    urls: Sequence[tuple[str, str]],
    depth: int,
    discovered_from: str | None = None,
) -> int:
    """Add (url, url_hash) pairs not yet in the run's frontier; returns how many were new."""
    if not urls:
        return 0
    added: int = await conn.fetchval(
        """WITH new AS (
               INSERT INTO frontier (run_id, tenant_id, url, url_hash, depth, discovered_from)
               SELECT $1, $2, u.url, u.url_hash, $5, $6
                 FROM unnest($3::text[], $4::text[]) AS u(url, url_hash)
               ON CONFLICT (run_id, url_hash) DO NOTHING RETURNING 1)
           SELECT count(*) FROM new""",
        run_id,
        tenant_id,
        [url for url, _ in urls],
        [digest for _, digest in urls],
        depth,
        discovered_from,
    )
    await conn.execute(
        "UPDATE crawl_runs SET pages_total = pages_total + $3 WHERE run_id = $1 AND tenant_id = $2",
        run_id,
        tenant_id,
        added,
    )
    return added


async def set_crawl_status(conn: Connection, *, run_id: UUID, tenant_id: UUID, status: str) -> None:
    await conn.execute(
        """UPDATE crawl_runs SET status = $3,
                  finished_at = CASE WHEN $3 = 'running' THEN NULL ELSE now() END
            WHERE run_id = $1 AND tenant_id = $2""",
        run_id,
        tenant_id,
        status,
    )
