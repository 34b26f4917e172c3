"""Keyword search (Postgres full text) and what a hit shows."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.extractor.domain.search import relaxed_queries
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
    """Chunks matching the query, best first (cover-density rank, lifted when every term
    matches, and a little when the document's title, url or metadata match too).

    `websearch_to_tsquery` ANDs every term, which finds little for questions asked in plain
    words. When the strict query finds fewer than `enough` chunks, looser ones are tried
    (`relaxed_queries`: all terms but one, any two, any one), the strict matches still first. A
    looser query ranks at most `_RELAXED_CANDIDATES` of its matches: ranking reads each
    match's text vector, and a common word matches a large share of the chunks."""
    filters = (job_id, run_id, document_type, url_prefix)
    async with conn.transaction():
        # A generic plan of these statements (what a prepared statement may switch to after
        # five runs) knows neither the query nor the filters, and was seen scanning the text
        # index once per document: minutes at 100k chunks. Plan each run for its own values.
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        strict: str = await conn.fetchval("SELECT websearch_to_tsquery('english', $1)::text", query)
        relaxed = relaxed_queries(strict)
        # Every step ranks by the terms matched (any of them), so a step only widens the
        # candidates and never reorders what an earlier one found.
        ranking = relaxed[-1] if relaxed else strict
        found: list[tuple[UUID, float]] = []
        for looser in ["", *relaxed]:
            found = await _keyword_rows(conn, tenant_id, strict, looser, ranking, *filters, limit)
            if len(found) >= enough:
                break
        return found


_RELAXED_CANDIDATES = 300


async def _keyword_rows(
    conn: Connection,
    tenant_id: UUID,
    strict: str,
    looser: str,
    ranking: str,
    job_id: UUID | None,
    run_id: UUID | None,
    document_type: str | None,
    url_prefix: str | None,
    limit: int,
) -> list[tuple[UUID, float]]:
    """Rank (by `ranking`) the chunks matching `strict`, and up to `_RELAXED_CANDIDATES` more
    matching `looser` (when given)."""
    rows = await conn.fetch(
        f"""WITH candidates AS (
                     SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
                      WHERE c.tenant_id = $1 AND d.tenant_id = $1 AND c.search_vector @@ $2::tsquery
                            AND ($4::uuid IS NULL OR c.run_id = $4) AND c.indexed_at IS NOT NULL {_FILTERS}
                     UNION
                     (SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
                       WHERE $8 <> '' AND c.tenant_id = $1 AND d.tenant_id = $1
                             AND c.search_vector @@ $8::tsquery
                             AND ($4::uuid IS NULL OR c.run_id = $4) AND c.indexed_at IS NOT NULL {_FILTERS}
                       LIMIT $9))
            SELECT c.id,
                   ts_rank_cd(c.search_vector, $10::tsquery) + (c.search_vector @@ $2::tsquery)::int
                     + 0.2 * ts_rank_cd(d.search_vector, $10::tsquery) AS rank
              FROM candidates JOIN chunks c ON c.id = candidates.id
                   JOIN documents d ON d.id = c.document_id
             ORDER BY rank DESC, c.id
             LIMIT $7""",
        tenant_id,
        strict,
        job_id,
        run_id,
        document_type,
        url_prefix,
        limit,
        looser,
        _RELAXED_CANDIDATES,
        ranking,
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
    conn: Connection, *, tenant_id: UUID, chunk_ids: Sequence[UUID]
) -> dict[UUID, asyncpg.Record]:
    rows = await conn.fetch(
        """SELECT c.id, c.document_id, c.chunk_index, c.text, c.metadata, d.job_id, d.run_id, d.url,
                  d.title, d.document_type
             FROM chunks c JOIN documents d ON d.id = c.document_id
            WHERE c.tenant_id = $1 AND d.tenant_id = $1 AND c.id = ANY($2::uuid[])""",
        tenant_id,
        list(chunk_ids),
    )
    return {row["id"]: row for row in rows}


async def snippets(
    conn: Connection, *, tenant_id: UUID, chunk_ids: Sequence[UUID], query: str
) -> dict[UUID, str]:
    """The query's terms highlighted in each chunk (`ts_headline` parses the whole text: ask
    only for the hits shown)."""
    rows = await conn.fetch(
        """SELECT id, ts_headline('english', text, websearch_to_tsquery('english', $3),
                                  'StartSel=<mark>, StopSel=</mark>, MaxWords=40, MinWords=15, '
                                  'MaxFragments=2') AS snippet
             FROM chunks WHERE tenant_id = $1 AND id = ANY($2::uuid[])""",
        tenant_id,
        list(chunk_ids),
        query,
    )
    return {row["id"]: row["snippet"] for row in rows}


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
