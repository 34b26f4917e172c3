"""Documents and chunks: intake, indexing, run deletion, reconciliation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.extractor.domain.chunking import Chunk
from services.extractor.domain.search import chunk_id
from shared.db import Connection


@dataclass(frozen=True)
class NewDocument:
    id: UUID
    tenant_id: UUID
    job_id: UUID | None
    run_id: UUID
    source_type: str
    url: str | None
    url_hash: str | None
    content_hash: str
    s3_key: str
    document_type: str
    title: str = ""
    status: str = "indexing"
    skipped: str | None = None
    error_message: str | None = None
    metadata: dict[str, Any] | None = None
    items_found: int = 0
    items_extracted: int = 0
    markdown_key: str | None = None


# -- intake ----------------------------------------------------------------------------


async def run_is_deleted(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM run_deletions WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id
        )
    )


async def document_exists(conn: Connection, *, tenant_id: UUID, document_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM documents WHERE id = $1 AND tenant_id = $2", document_id, tenant_id
        )
    )


async def unchanged_in_job(
    conn: Connection, *, tenant_id: UUID, job_id: UUID, url_hash: str, content_hash: str
) -> bool:
    """Whether the job already indexed this URL with exactly these bytes (in an earlier run)."""
    return bool(
        await conn.fetchval(
            """SELECT 1 FROM documents
                WHERE tenant_id = $1 AND job_id = $2 AND url_hash = $3 AND content_hash = $4
                  AND status = 'indexed' LIMIT 1""",
            tenant_id,
            job_id,
            url_hash,
            content_hash,
        )
    )


async def insert_document(conn: Connection, doc: NewDocument, chunks: Sequence[Chunk] = ()) -> None:
    await conn.execute(
        """INSERT INTO documents (id, tenant_id, job_id, run_id, source_type, url, url_hash, title,
                                  document_type, content_hash, s3_key, status, skipped, error_message,
                                  chunk_count, metadata, items_found, items_extracted, markdown_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)""",
        doc.id,
        doc.tenant_id,
        doc.job_id,
        doc.run_id,
        doc.source_type,
        doc.url,
        doc.url_hash,
        doc.title,
        doc.document_type,
        doc.content_hash,
        doc.s3_key,
        doc.status,
        doc.skipped,
        doc.error_message,
        len(chunks),
        doc.metadata or {},
        doc.items_found,
        doc.items_extracted,
        doc.markdown_key,
    )
    if chunks:
        # COPY fires the row triggers too, so the search vectors are filled as with INSERT.
        await conn.copy_records_to_table(
            "chunks",
            records=[
                (
                    chunk_id(doc.id, chunk.index),
                    doc.tenant_id,
                    doc.run_id,
                    doc.id,
                    chunk.index,
                    chunk.text,
                    chunk.token_count,
                    chunk.metadata,
                )
                for chunk in chunks
            ],
            columns=(
                "id",
                "tenant_id",
                "run_id",
                "document_id",
                "chunk_index",
                "text",
                "token_count",
                "metadata",
            ),
        )


# -- indexing ----------------------------------------------------------------------------


async def documents_to_index(conn: Connection, *, max_chunks: int) -> list[asyncpg.Record]:
    """The oldest documents waiting for the vector index, about `max_chunks` chunks' worth
    (at least one document, however large)."""
    return await conn.fetch(
        """SELECT id, tenant_id, job_id, run_id, url, url_hash, title, document_type, chunk_count,
                  items_found, items_extracted, markdown_key, metadata
             FROM (SELECT *, sum(chunk_count) OVER (ORDER BY created_at, id) AS running
                     FROM documents WHERE status = 'indexing') pending
            WHERE running - chunk_count < $1
            ORDER BY created_at, id""",
        max_chunks,
    )


async def unindexed_chunks(conn: Connection, *, document_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, tenant_id, document_id, chunk_index, text FROM chunks
            WHERE document_id = ANY($1::uuid[]) AND indexed_at IS NULL
            ORDER BY document_id, chunk_index""",
        list(document_ids),
    )


async def mark_indexed(conn: Connection, *, tenant_id: UUID, document_id: UUID) -> datetime | None:
    """Mark a document and its chunks indexed; None when it is no longer waiting (deleted, or
    another replica finished it first). Call inside the transaction that publishes ChunkIndexed."""
    indexed_at: datetime | None = await conn.fetchval(
        """UPDATE documents SET status = 'indexed', indexed_at = now()
            WHERE id = $1 AND tenant_id = $2 AND status = 'indexing'
        RETURNING indexed_at""",
        document_id,
        tenant_id,
    )
    if indexed_at is not None:
        await conn.execute(
            """UPDATE chunks SET indexed_at = $3
                WHERE document_id = $1 AND tenant_id = $2 AND indexed_at IS NULL""",
            document_id,
            tenant_id,
            indexed_at,
        )
    return indexed_at


async def index_lag(conn: Connection) -> tuple[int, float]:
    row = await conn.fetchrow(
        """SELECT count(*) AS pending, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest
             FROM chunks WHERE indexed_at IS NULL"""
    )
    assert row is not None
    return int(row["pending"]), float(row["oldest"])


# -- deletion ----------------------------------------------------------------------------


async def request_run_deletion(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO run_deletions (run_id, tenant_id) VALUES ($1, $2) ON CONFLICT (run_id) DO NOTHING",
        run_id,
        tenant_id,
    )


async def pending_deletions(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT run_id, tenant_id, state, object_keys FROM run_deletions
            WHERE state <> 'done' ORDER BY requested_at"""
    )


async def delete_run_rows(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> None:
    """Delete the run's documents (chunks cascade) and remember their objects (raw bytes and
    Markdown) for the S3 step."""
    rows = await conn.fetch(
        "DELETE FROM documents WHERE tenant_id = $1 AND run_id = $2 RETURNING s3_key, markdown_key",
        tenant_id,
        run_id,
    )
    keys = [key for row in rows for key in (row["s3_key"], row["markdown_key"]) if key is not None]
    await conn.execute(
        """UPDATE run_deletions SET state = 'rows_deleted',
                  object_keys = ARRAY(SELECT DISTINCT unnest(object_keys || $3::text[]))
            WHERE run_id = $1 AND tenant_id = $2""",
        run_id,
        tenant_id,
        keys,
    )


async def set_deletion_state(conn: Connection, *, tenant_id: UUID, run_id: UUID, state: str) -> None:
    await conn.execute(
        """UPDATE run_deletions SET state = $3, finished_at = CASE WHEN $3 = 'done' THEN now() END
            WHERE run_id = $1 AND tenant_id = $2""",
        run_id,
        tenant_id,
        state,
    )


async def deletion_keys(conn: Connection, *, tenant_id: UUID, run_id: UUID) -> list[str]:
    keys: list[str] = await conn.fetchval(
        "SELECT object_keys FROM run_deletions WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id
    )
    return keys


async def unreferenced_keys(conn: Connection, keys: Sequence[str]) -> list[str]:
    """Those of `keys` no document of any run or tenant points at (content-addressed objects
    are shared)."""
    rows = await conn.fetch(
        """SELECT key FROM unnest($1::text[]) AS key
            WHERE NOT EXISTS (SELECT 1 FROM documents WHERE s3_key = key)
              AND NOT EXISTS (SELECT 1 FROM documents WHERE markdown_key = key)""",
        list(keys),
    )
    return [row["key"] for row in rows]


# -- reconciliation (all tenants) --------------------------------------------------------


async def chunk_ids(conn: Connection, *, run_id: UUID | None, indexed_only: bool) -> set[UUID]:
    rows = await conn.fetch(
        """SELECT id FROM chunks WHERE ($1::uuid IS NULL OR run_id = $1)
                                   AND (NOT $2 OR indexed_at IS NOT NULL)""",
        run_id,
        indexed_only,
    )
    return {row["id"] for row in rows}


async def chunks_for_points(conn: Connection, ids: Sequence[UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT c.id, c.tenant_id, c.run_id, c.document_id, c.chunk_index, c.text, d.job_id, d.url,
                  d.title, d.document_type
             FROM chunks c JOIN documents d ON d.id = c.document_id
            WHERE c.id = ANY($1::uuid[]) ORDER BY c.document_id, c.chunk_index""",
        list(ids),
    )


async def deleted_run_keys(conn: Connection, run_id: UUID | None) -> list[str]:
    rows = await conn.fetch(
        """SELECT DISTINCT unnest(object_keys) AS key FROM run_deletions
            WHERE state = 'done' AND ($1::uuid IS NULL OR run_id = $1)""",
        run_id,
    )
    return [row["key"] for row in rows]


async def run_tenant(conn: Connection, run_id: UUID) -> UUID | None:
    tenant: UUID | None = await conn.fetchval(
        """SELECT tenant_id FROM documents WHERE run_id = $1
            UNION ALL SELECT tenant_id FROM run_deletions WHERE run_id = $1 LIMIT 1""",
        run_id,
    )
    return tenant


async def documents_with_text(
    conn: Connection, *, tenant_id: UUID, run_id: UUID, limit: int
) -> list[asyncpg.Record]:
    """The run's documents whose Markdown is stored, oldest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, job_id, run_id, markdown_key, content_hash FROM documents
            WHERE tenant_id = $1 AND run_id = $2 AND markdown_key IS NOT NULL
            ORDER BY created_at, id LIMIT $3""",
        tenant_id,
        run_id,
        limit,
    )
    return rows
