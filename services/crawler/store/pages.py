"""Pages and images fetched, and the counters they add to their run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from services.crawler.domain.records import (
    ImageRow,
    PageRow,
    RunCounters,
)
from shared.db import Connection

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
