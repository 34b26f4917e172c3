"""Keyword search (Postgres full text) and what a hit shows."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from shared.db import Connection

# -- search ------------------------------------------------------------------------------


_FILTERS = """
      AND ($3::uuid IS NULL OR d.job_id = $3)
      AND ($4::uuid IS NULL OR d.run_id = $4)
      AND ($5::text IS NULL OR d.document_type = $5)
      AND ($6::text IS NULL OR starts_with(d.url, $6))"""


async def keyword_search(
    conn: Connection,
    *,
    tenant_id: UUID,
    query: str,
    job_id: UUID | None,
    run_id: UUID | None,
    document_type: str | None,
    url_prefix: str | None,
    limit: int,
    enough: int,
) -> list[tuple[UUID, float]]:
    """Chunks matching the query, best first (cover-density rank, lifted a little when the
    document's title, url or metadata match too).

    `websearch_to_tsquery` ANDs every term, which finds little for questions asked in plain
    words. When the strict query finds fewer than `enough` chunks, chunks matching any term
    are taken too, those matching all terms still first. (Only then: matching any term reads
    every chunk with a common word.) A query with a negation keeps its strict meaning."""
    filters = (job_id, run_id, document_type, url_prefix)
    async with conn.transaction():
        # A generic plan of these statements (what a prepared statement may switch to after
        # five runs) knows neither the query nor the filters, and was seen scanning the text
        # index once per document: minutes at 100k chunks. Plan each run for its own values.
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        strict = await _keyword_rows(conn, tenant_id, query, *filters, limit, any_term=False)
        if len(strict) >= enough:
            return strict
        return await _keyword_rows(conn, tenant_id, query, *filters, limit, any_term=True)


async def _keyword_rows(
    conn: Connection,
    tenant_id: UUID,
    query: str,
    job_id: UUID | None,
    run_id: UUID | None,
    document_type: str | None,
    url_prefix: str | None,
    limit: int,
    *,
    any_term: bool,
) -> list[tuple[UUID, float]]:
    rows = await conn.fetch(
        f"""WITH strict AS (SELECT websearch_to_tsquery('english', $2) AS q_all),
                 terms AS (SELECT q_all,
                                  CASE WHEN $8 AND strpos(q_all::text, '!') = 0
                                       THEN replace(q_all::text, ' & ', ' | ')::tsquery
                                       ELSE q_all END AS q
                             FROM strict)
            SELECT c.id,
                   ts_rank_cd(c.search_vector, q) + (c.search_vector @@ q_all)::int
                     + 0.2 * ts_rank_cd(d.search_vector, q) AS rank
              FROM terms, chunks c JOIN documents d ON d.id = c.document_id
             WHERE c.tenant_id = $1 AND d.tenant_id = $1 AND c.search_vector @@ q
                   AND c.indexed_at IS NOT NULL {_FILTERS}
             ORDER BY rank DESC, c.id
             LIMIT $7""",
        tenant_id,
        query,
        job_id,
        run_id,
        document_type,
        url_prefix,
        limit,
        any_term,
    )
    return [(row["id"], float(row["rank"])) for row in rows]


async def tagged_documents(
    conn: Connection, *, tenant_id: UUID, document_ids: Sequence[UUID], tags: Sequence[str]
) -> set[UUID]:
    """Of `document_ids`, those with every `name:value` tag (case-insensitive)."""
    wanted = sorted({tag.lower() for tag in tags})
    rows = await conn.fetch(
        """SELECT document_id FROM tags
            WHERE tenant_id = $1 AND document_id = ANY($2::uuid[])
              AND lower(name || ':' || value) = ANY($3::text[])
            GROUP BY document_id HAVING count(DISTINCT lower(name || ':' || value)) = $4""",
        tenant_id,
        list(document_ids),
        wanted,
        len(wanted),
    )
    return {row["document_id"] for row in rows}


async def hit_details(
    conn: Connection, *, tenant_id: UUID, chunk_ids: Sequence[UUID], query: str
) -> dict[UUID, asyncpg.Record]:
    rows = await conn.fetch(
        """SELECT c.id, c.document_id, c.chunk_index, c.text, c.metadata, d.job_id, d.run_id, d.url,
                  d.title, d.document_type,
                  ts_headline('english', c.text, websearch_to_tsquery('english', $3),
                              'StartSel=<mark>, StopSel=</mark>, MaxWords=40, MinWords=15, MaxFragments=2')
                      AS snippet
             FROM chunks c JOIN documents d ON d.id = c.document_id
            WHERE c.tenant_id = $1 AND d.tenant_id = $1 AND c.id = ANY($2::uuid[])""",
        tenant_id,
        list(chunk_ids),
        query,
    )
    return {row["id"]: row for row in rows}


async def latest_documents(
    conn: Connection,
    *,
    tenant_id: UUID,
    urls: Sequence[str],
    job_id: UUID | None,
    run_id: UUID | None,
) -> dict[str, UUID]:
    """For each URL, the document of its latest indexed version (within the job or run given)."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (url) url, id FROM documents
            WHERE tenant_id = $1 AND url = ANY($2::text[]) AND status = 'indexed'
              AND ($3::uuid IS NULL OR job_id = $3) AND ($4::uuid IS NULL OR run_id = $4)
            ORDER BY url, created_at DESC, id""",
        tenant_id,
        list(urls),
        job_id,
        run_id,
    )
    return {row["url"]: row["id"] for row in rows}
