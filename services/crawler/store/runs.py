"""Crawl runs: their rows, budgets, progress reports, completion, URLs listed, and deletion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from services.crawler.domain.records import (
    RunBudget,
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
    project_id: UUID | None,
) -> None:
    await conn.execute(
        """INSERT INTO crawl_runs (run_id, tenant_id, job_id, max_pages, max_depth, project_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id) DO NOTHING""",
        run_id,
        tenant_id,
        job_id,
        max_pages,
        max_depth,
        project_id,
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
    """Mark completed, exactly once, the running runs with nothing in flight, no search left to
    make, no expansion still awaited (past its deadline it is given up) and nothing left that
    they may still fetch (queued URLs past the page budget are skipped)."""
    filter_runs = "AND c.run_id = ANY($1)" if run_ids is not None else "AND $1::uuid[] IS NULL"
    finished = await conn.fetch(
        f"""SELECT c.run_id FROM crawl_runs c
             WHERE c.status = 'running' {filter_runs}
               AND NOT EXISTS (SELECT 1 FROM frontier f WHERE f.run_id = c.run_id AND f.state = 'leased')
               AND NOT EXISTS (SELECT 1 FROM keyword_searches k
                                WHERE k.run_id = c.run_id AND k.state IN ('pending', 'leased'))
               AND (c.expansion_state IS DISTINCT FROM 'requested' OR c.expansion_deadline < now())
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
        f"""UPDATE crawl_runs c SET status = 'completed', finished_at = now(),
                  expansion_state = CASE WHEN expansion_state = 'requested' THEN 'timed_out'
                                         ELSE expansion_state END,
                  expansion_note = CASE WHEN expansion_state = 'requested'
                                        THEN 'the llm service did not answer in time: not searched'
                                        ELSE expansion_note END
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
                  f.discovered_from, f.provenance, f.updated_at
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


# --- deletion ------------------------------------------------------------------------------


async def objects_only_this_run_references(conn: Connection, *, run_id: UUID, tenant_id: UUID) -> list[str]:
    rows = await conn.fetch(
        """SELECT DISTINCT s3_key FROM (
               SELECT s3_key FROM pages WHERE run_id = $1 AND tenant_id = $2
               UNION SELECT s3_key FROM images WHERE run_id = $1 AND tenant_id = $2 AND s3_key IS NOT NULL
               UNION SELECT thumbnail_key FROM images
                      WHERE run_id = $1 AND tenant_id = $2 AND thumbnail_key IS NOT NULL
           ) mine(s3_key)
            WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.s3_key = mine.s3_key AND p.run_id <> $1)
              AND NOT EXISTS (SELECT 1 FROM images i WHERE i.s3_key = mine.s3_key AND i.run_id <> $1)
              AND NOT EXISTS (SELECT 1 FROM images i
                               WHERE i.thumbnail_key = mine.s3_key AND i.run_id <> $1)""",
        run_id,
        tenant_id,
    )
    return [row["s3_key"] for row in rows]
