"""The crawler's SQL; nothing else touches its tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from services.crawler.domain.records import (
    FrontierUpdate,
    ImageRow,
    LeasedUrl,
    NewUrl,
    PageRow,
    RunBudget,
    RunCounters,
)
from shared.db import Connection

# --- runs ----------------------------------------------------------------------------------


async def create_crawl_run(
    conn: Connection,
    *,
    run_id: UUID,
    tenant_id: UUID,
    job_id: UUID,
    max_pages: int,
    max_depth: int,
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


async def set_crawl_status(conn: Connection, *, run_id: UUID, tenant_id: UUID, status: str) -> None:
    await conn.execute(
        """UPDATE crawl_runs SET status = $3,
                  finished_at = CASE WHEN $3 = 'running' THEN NULL ELSE now() END
            WHERE run_id = $1 AND tenant_id = $2 AND status = 'running'""",
        run_id,
        tenant_id,
        status,
    )


async def run_budgets(conn: Connection) -> list[RunBudget]:
    """Every crawl run that is running, with how many more pages (and images) it may lease."""
    rows = await conn.fetch(
        """SELECT c.run_id, c.tenant_id, c.job_id, c.status,
                  c.max_pages - c.pages_crawled - coalesce(l.pages, 0) AS pages_left,
                  (rc.config -> 'limits' ->> 'max_images')::int - c.images_stored - coalesce(l.images, 0)
                      AS images_left
             FROM crawl_runs c
             JOIN run_configs rc USING (run_id)
             LEFT JOIN LATERAL (
                  SELECT count(*) FILTER (WHERE kind = 'page') AS pages,
                         count(*) FILTER (WHERE kind = 'image') AS images
                    FROM frontier f WHERE f.run_id = c.run_id AND f.state = 'leased') l ON true
            WHERE c.status = 'running'"""
    )
    return [RunBudget(**dict(row)) for row in rows]


async def run_statuses(conn: Connection, run_ids: Sequence[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch("SELECT run_id, status FROM crawl_runs WHERE run_id = ANY($1)", list(run_ids))
    return {row["run_id"]: row["status"] for row in rows}


# --- frontier ------------------------------------------------------------------------------


async def enqueue(conn: Connection, *, run_id: UUID, tenant_id: UUID, urls: Sequence[NewUrl]) -> int:
    """Add URLs not yet in the run's frontier; returns how many were new."""
    if not urls:
        return 0
    added: int = await conn.fetchval(
        """WITH new AS (
               INSERT INTO frontier (run_id, tenant_id, url, url_hash, host, depth, kind, page_number,
                                     discovered_from)
               SELECT $1, $2, u.* FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::text[],
                                              $8::int[], $9::text[]) AS u
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
                  l.page_number, l.attempts, l.discovered_from,
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


# --- pages and images ----------------------------------------------------------------------


_PAGE_COLUMNS = {
    "run_id": "uuid",
    "tenant_id": "uuid",
    "job_id": "uuid",
    "url": "text",
    "final_url": "text",
    "url_hash": "text",
    "status": "integer",
    "content_type": "text",
    "content_hash": "text",
    "s3_key": "text",
    "bytes": "bigint",
    "etag": "text",
    "last_modified": "text",
    "unchanged": "boolean",
    "depth": "integer",
    "final_url_hash": "text",
    "canonical_hash": "text",
}


async def insert_pages(conn: Connection, pages: Sequence[PageRow]) -> set[str]:
    """Store page rows; returns the url hashes of those refused as duplicates: another page of
    the run was fetched as the same final URL, or was fetched as the URL this one names as its
    canonical with the same bytes. (A page and its canonical in one batch both stay.)"""
    if not pages:
        return set()
    names = list(_PAGE_COLUMNS)
    arrays = [[getattr(page, name) for page in pages] for name in names]
    unnested = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(_PAGE_COLUMNS.values(), start=1))
    inserted = await conn.fetch(
        f"""INSERT INTO pages ({", ".join(names)})
            SELECT * FROM unnest({unnested}) AS p ({", ".join(names)})
             WHERE p.canonical_hash IS NULL OR NOT EXISTS (
                   SELECT 1 FROM pages q WHERE q.run_id = p.run_id
                      AND q.final_url_hash = p.canonical_hash AND q.content_hash = p.content_hash)
            ON CONFLICT DO NOTHING
         RETURNING url_hash""",
        *arrays,
    )
    return {page.url_hash for page in pages} - {row["url_hash"] for row in inserted}


async def insert_images(conn: Connection, images: Sequence[ImageRow]) -> None:
    await _insert(conn, "images", images, conflict="(run_id, url_hash)")


async def _insert(conn: Connection, table: str, rows: Sequence[Any], *, conflict: str) -> None:
    if not rows:
        return
    columns = list(vars(rows[0]))
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    await conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
        f" ON CONFLICT {conflict} DO NOTHING",
        [tuple(vars(row).values()) for row in rows],
    )


async def add_counters(conn: Connection, run_id: UUID, counters: RunCounters) -> None:
    await conn.execute(
        """UPDATE crawl_runs
              SET pages_crawled = pages_crawled + $2, pages_failed = pages_failed + $3,
                  pages_skipped = pages_skipped + $4, pages_unchanged = pages_unchanged + $5,
                  images_stored = images_stored + $6, bytes_fetched = bytes_fetched + $7,
                  error_count = error_count + $8, current_depth = greatest(current_depth, $9)
            WHERE run_id = $1""",
        run_id,
        counters.pages_crawled,
        counters.pages_failed,
        counters.pages_skipped,
        counters.pages_unchanged,
        counters.images_stored,
        counters.bytes_fetched,
        counters.error_count,
        counters.max_depth_seen,
    )


# --- progress and completion ---------------------------------------------------------------


# A run's URLs not fetched, or fetched and not stored, counted by reason (robots, http_404, ...).
_REFUSALS = """(SELECT coalesce(jsonb_object_agg(reason, n), '{}'::jsonb)
                  FROM (SELECT coalesce(f.reason, 'unknown') AS reason, count(*) AS n FROM frontier f
                         WHERE f.run_id = c.run_id AND f.state IN ('failed', 'skipped')
                         GROUP BY 1) counted)"""


async def claim_progress_reports(
    conn: Connection, run_ids: Sequence[UUID], every_seconds: float
) -> list[Any]:
    """Runs whose last progress report is older than `every_seconds`, marked as reported now."""
    return await conn.fetch(
        f"""UPDATE crawl_runs c SET progress_sent_at = now()
            WHERE run_id = ANY($1) AND status = 'running'
              AND (progress_sent_at IS NULL OR progress_sent_at < now() - make_interval(secs => $2))
        RETURNING c.*,
                  (SELECT count(*) FROM frontier f WHERE f.run_id = c.run_id AND f.state = 'leased')
                      AS in_flight, {_REFUSALS} AS refusals""",
        list(run_ids),
        every_seconds,
    )


async def complete_finished_runs(conn: Connection, run_ids: Sequence[UUID] | None = None) -> list[Any]:
    """Mark completed, exactly once, the running runs with nothing in flight and nothing left
    that they may still fetch (queued URLs past the page budget are skipped)."""
    filter_runs = "AND c.run_id = ANY($1)" if run_ids is not None else "AND $1::uuid[] IS NULL"
    finished = await conn.fetch(
        f"""SELECT c.run_id FROM crawl_runs c
             WHERE c.status = 'running' {filter_runs}
               AND NOT EXISTS (SELECT 1 FROM frontier f WHERE f.run_id = c.run_id AND f.state = 'leased')
               AND (c.pages_crawled >= c.max_pages
                    OR NOT EXISTS (SELECT 1 FROM frontier f
                                    WHERE f.run_id = c.run_id AND f.state = 'queued'))
             FOR UPDATE SKIP LOCKED""",
        None if run_ids is None else list(run_ids),
    )
    ids = [row["run_id"] for row in finished]
    if not ids:
        return []
    await conn.execute(
        """UPDATE frontier SET state = 'skipped', reason = 'max_pages', updated_at = now()
            WHERE run_id = ANY($1) AND state = 'queued'""",
        ids,
    )
    return await conn.fetch(
        f"""UPDATE crawl_runs c SET status = 'completed', finished_at = now()
            WHERE run_id = ANY($1) AND status = 'running'
        RETURNING c.*, (SELECT count(*) FROM pages p WHERE p.run_id = c.run_id) AS pages_published,
                  0 AS in_flight, {_REFUSALS} AS refusals""",
        ids,
    )


async def run_urls(
    conn: Connection,
    *,
    tenant_id: UUID,
    run_id: UUID,
    states: Sequence[str],
    after_id: int,
    limit: int,
) -> list[Any]:
    """One page of a run's frontier in the order URLs were found, from after `after_id`."""
    return await conn.fetch(
        """SELECT f.id, f.url, f.kind, f.state, f.reason, f.status_code, f.attempts, f.depth,
                  f.discovered_from, f.updated_at
             FROM frontier f JOIN crawl_runs c ON c.run_id = f.run_id
            WHERE f.run_id = $1 AND c.tenant_id = $2 AND f.id > $3
              AND (cardinality($4::text[]) = 0 OR f.state = ANY($4::text[]))
            ORDER BY f.id LIMIT $5""",
        run_id,
        tenant_id,
        after_id,
        list(states),
        limit,
    )


# --- politeness ----------------------------------------------------------------------------


async def reserve_host_slot(conn: Connection, host: str, delay: float) -> float:
    """Reserve this host's next fetch slot, shared by every replica: returns when it starts
    (Unix time, by the database's clock). Slots are `delay` apart, so requests to a host are
    spaced whoever sends them."""
    slot: float = await conn.fetchval(
        """INSERT INTO hosts (host, next_fetch_at) VALUES ($1, clock_timestamp() + make_interval(secs => $2))
           ON CONFLICT (host) DO UPDATE
              SET next_fetch_at = greatest(hosts.next_fetch_at, clock_timestamp()) + make_interval(secs => $2)
        RETURNING extract(epoch FROM next_fetch_at)::float8 - $2""",
        host,
        delay,
    )
    return slot


async def push_back_host(conn: Connection, host: str, seconds: float) -> None:
    """The host asked us to wait (429/503 Retry-After): no replica fetches from it before then."""
    await conn.execute(
        """INSERT INTO hosts (host, next_fetch_at) VALUES ($1, now() + make_interval(secs => $2))
           ON CONFLICT (host) DO UPDATE
              SET next_fetch_at = greatest(hosts.next_fetch_at, now() + make_interval(secs => $2))""",
        host,
        seconds,
    )


async def cached_robots(conn: Connection, host: str, max_age: float) -> tuple[int | None, bytes] | None:
    row = await conn.fetchrow(
        """SELECT robots_status, robots_body FROM hosts
            WHERE host = $1 AND robots_fetched_at > now() - make_interval(secs => $2)""",
        host,
        max_age,
    )
    return None if row is None else (row["robots_status"], row["robots_body"] or b"")


async def store_robots(conn: Connection, host: str, status: int | None, body: bytes) -> None:
    await conn.execute(
        """INSERT INTO hosts (host, robots_status, robots_body, robots_fetched_at)
           VALUES ($1, $2, $3, now())
           ON CONFLICT (host) DO UPDATE
              SET robots_status = $2, robots_body = $3, robots_fetched_at = now()""",
        host,
        status,
        body,
    )


# --- deletion ------------------------------------------------------------------------------


async def objects_only_this_run_references(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> list[str]:
    rows = await conn.fetch(
        """SELECT DISTINCT s3_key FROM (
               SELECT s3_key FROM pages WHERE run_id = $1 AND tenant_id = $2
               UNION SELECT s3_key FROM images WHERE run_id = $1 AND tenant_id = $2 AND s3_key IS NOT NULL
           ) mine(s3_key)
            WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.s3_key = mine.s3_key AND p.run_id <> $1)
              AND NOT EXISTS (SELECT 1 FROM images i WHERE i.s3_key = mine.s3_key AND i.run_id <> $1)""",
        run_id,
        tenant_id,
    )
    return [row["s3_key"] for row in rows]
