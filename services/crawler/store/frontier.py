"""The durable frontier: URLs queued, leased and settled."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from services.crawler.domain.records import (
    FrontierUpdate,
    LeasedUrl,
    NewUrl,
)
from shared.db import Connection

# --- frontier ------------------------------------------------------------------------------


async def enqueue(conn: Connection, *, run_id: UUID, tenant_id: UUID, urls: Sequence[NewUrl]) -> int:
    """Add URLs not yet in the run's frontier; returns how many were new."""
    if not urls:
        return 0
    added: int = await conn.fetchval(
        """WITH new AS (
               INSERT INTO frontier (run_id, tenant_id, url, url_hash, host, depth, kind, page_number,
                                     discovered_from, provenance)
               SELECT $1, $2, u.* FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::text[],
                                              $8::int[], $9::text[], $10::jsonb[]) AS u
               ON CONFLICT (run_id, url_hash) DO NOTHING RETURNING kind)
           SELECT count(*) FILTER (WHERE kind = 'page') FROM new""",
        run_id,
        tenant_id,
        [u.url for u in urls],
        [u.url_hash for u in urls],
        [u.host for u in urls],
        [u.depth for u in urls],
        [u.kind for u in urls],
        [u.page_number for u in urls],
        [u.discovered_from for u in urls],
        [u.provenance for u in urls],
    )
    if added:
        await conn.execute(
            "UPDATE crawl_runs SET pages_total = pages_total + $3 WHERE run_id = $1 AND tenant_id = $2",
            run_id,
            tenant_id,
            added,
        )
    return added


async def lease(
    conn: Connection,
    *,
    owner: UUID,
    run_id: UUID,
    kinds: Sequence[str],
    limit: int,
    skip_hosts: Sequence[str],
    per_host: int,
    lease_seconds: float,
) -> list[LeasedUrl]:
    """Lease up to `limit` ready URLs of one run, shallowest first, at most `per_host` of any
    one host (so a slow host cannot take every fetch slot) and none of the busy `skip_hosts`;
    with each, the job's previous fetch of the same URL (for conditional requests)."""
    rows = await conn.fetch(
        """WITH ready AS (
               SELECT id, host, depth FROM frontier
                WHERE run_id = $2 AND state = 'queued' AND next_attempt_at <= now()
                  AND kind = ANY($3) AND NOT host = ANY($5)
                ORDER BY depth, id
                LIMIT $4 * 8),
           spread AS (
               SELECT id, depth, row_number() OVER (PARTITION BY host ORDER BY depth, id) AS nth FROM ready),
           picked AS (
               SELECT f.id FROM frontier f JOIN spread USING (id)
                WHERE spread.nth <= $7 AND f.state = 'queued'
                ORDER BY spread.depth, f.id
                LIMIT $4
                FOR UPDATE OF f SKIP LOCKED),
           leased AS (
               UPDATE frontier f
                  SET state = 'leased', lease_owner = $1, updated_at = now(),
                      leased_until = now() + make_interval(secs => $6)
                 FROM picked WHERE f.id = picked.id
               RETURNING f.*)
           SELECT l.id, l.run_id, l.tenant_id, c.job_id, l.url, l.url_hash, l.host, l.depth, l.kind,
                  l.page_number, l.attempts, l.discovered_from, l.provenance,
                  p.etag AS previous_etag, p.last_modified AS previous_last_modified,
                  p.content_hash AS previous_content_hash, p.s3_key AS previous_s3_key,
                  p.content_type AS previous_content_type
             FROM leased l
             JOIN crawl_runs c ON c.run_id = l.run_id
             LEFT JOIN LATERAL (
                  SELECT etag, last_modified, content_hash, s3_key, content_type FROM pages
                   WHERE tenant_id = l.tenant_id AND job_id = c.job_id AND url_hash = l.url_hash
                     AND run_id <> l.run_id
                   ORDER BY fetched_at DESC LIMIT 1) p ON true""",
        owner,
        run_id,
        list(kinds),
        limit,
        list(skip_hosts),
        lease_seconds,
        per_host,
    )
    return [LeasedUrl(**dict(row)) for row in rows]


async def queued_urls(conn: Connection) -> int:
    """The known frontier still to fetch, over every running crawl."""
    count: int = await conn.fetchval(
        """SELECT count(*) FROM frontier f JOIN crawl_runs c USING (run_id)
            WHERE f.state = 'queued' AND c.status = 'running'"""
    )
    return count


async def renew_leases(conn: Connection, *, owner: UUID, ids: Sequence[int], lease_seconds: float) -> None:
    await conn.execute(
        """UPDATE frontier SET leased_until = now() + make_interval(secs => $3)
            WHERE id = ANY($2) AND state = 'leased' AND lease_owner = $1""",
        owner,
        list(ids),
        lease_seconds,
    )


async def release_expired_leases(conn: Connection) -> int:
    """Leases whose worker stopped renewing them (it crashed) go back to the queue."""
    status: str = await conn.execute(
        """UPDATE frontier SET state = 'queued', lease_owner = NULL, leased_until = NULL, updated_at = now()
            WHERE state = 'leased' AND leased_until < now()"""
    )
    return int(status.split()[-1])


async def release_leases(conn: Connection, *, owner: UUID, ids: Sequence[int]) -> None:
    """Give back leases that were never fetched (a cancelled run, a worker shutting down)."""
    await conn.execute(
        """UPDATE frontier SET state = 'queued', lease_owner = NULL, leased_until = NULL
            WHERE id = ANY($2) AND state = 'leased' AND lease_owner = $1""",
        owner,
        list(ids),
    )


async def still_leased(conn: Connection, *, owner: UUID, ids: Sequence[int]) -> set[int]:
    """Which of these leases this worker still holds (locked until the transaction ends)."""
    rows = await conn.fetch(
        """SELECT id FROM frontier WHERE id = ANY($2) AND state = 'leased' AND lease_owner = $1
           FOR UPDATE""",
        owner,
        list(ids),
    )
    return {row["id"] for row in rows}


async def update_frontier(conn: Connection, updates: Sequence[FrontierUpdate]) -> None:
    await conn.execute(
        """UPDATE frontier f
              SET state = u.state, status_code = u.status_code, reason = u.reason, updated_at = now(),
                  attempts = f.attempts + 1, lease_owner = NULL, leased_until = NULL,
                  next_attempt_at = CASE WHEN u.state = 'queued'
                                         THEN now() + make_interval(secs => u.retry_in)
                                         ELSE f.next_attempt_at END
             FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::float8[])
                  AS u(id, state, status_code, reason, retry_in)
            WHERE f.id = u.id""",
        [u.id for u in updates],
        [u.state for u in updates],
        [u.status_code for u in updates],
        [u.reason for u in updates],
        [u.retry_in for u in updates],
    )


async def skip_pattern_pages_after(conn: Connection, *, run_id: UUID, page_number: int, reason: str) -> None:
    """url_pattern pagination ended at `page_number`: later pattern pages are not fetched."""
    await conn.execute(
        """UPDATE frontier SET state = 'skipped', reason = $3, updated_at = now()
            WHERE run_id = $1 AND page_number > $2 AND state = 'queued'""",
        run_id,
        page_number,
        reason,
    )


async def run_has_content(conn: Connection, *, run_id: UUID, content_hash: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pages WHERE run_id = $1 AND content_hash = $2)",
            run_id,
            content_hash,
        )
    )
