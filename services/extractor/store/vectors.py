"""The vector collections' registry (`vector_collections`) and the chunks a reindex copies."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.db import Connection

_COLUMNS = """name, model, backend, dimension, state, reembed, copied, total, cursor, phase, error,
              created_at, switched_at"""


async def collection(conn: Connection, state: str) -> asyncpg.Record | None:
    """The active collection (the pointer searches follow), or the one being built."""
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM vector_collections WHERE state = $1", state)


async def register_collection(
    conn: Connection,
    *,
    name: str,
    model: str,
    backend: str,
    dimension: int,
    state: str,
    total: int = 0,
    reembed: bool = False,
) -> asyncpg.Record:
    """Insert a collection (or return the one already there: two replicas starting at once)."""
    row = await conn.fetchrow(
        f"""INSERT INTO vector_collections (name, model, backend, dimension, state, total, reembed)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING {_COLUMNS}""",
        name,
        model,
        backend,
        dimension,
        state,
        total,
        reembed,
    )
    if row is None:
        row = await collection(conn, state)
    assert row is not None
    return row


async def record_progress(
    conn: Connection, name: str, *, phase: str, copied: int, cursor: UUID | None, error: str | None = None
) -> None:
    await conn.execute(
        """UPDATE vector_collections SET phase = $2, copied = $3, cursor = $4, error = $5
            WHERE name = $1""",
        name,
        phase,
        copied,
        cursor,
        error,
    )


async def switch_active(conn: Connection, name: str) -> str | None:
    """Make `name` the active collection in one statement pair (inside the caller's
    transaction); returns the collection it replaces."""
    retired: str | None = await conn.fetchval(
        "UPDATE vector_collections SET state = 'retired' WHERE state = 'active' RETURNING name"
    )
    await conn.execute(
        """UPDATE vector_collections SET state = 'active', phase = 'done', switched_at = now()
            WHERE name = $1""",
        name,
    )
    return retired


async def forget_collection(conn: Connection, name: str) -> None:
    await conn.execute("DELETE FROM vector_collections WHERE name = $1", name)


async def indexed_chunk_count(conn: Connection, run_id: UUID | None) -> int:
    total: int = await conn.fetchval(
        "SELECT count(*) FROM chunks WHERE indexed_at IS NOT NULL AND ($1::uuid IS NULL OR run_id = $1)",
        run_id,
    )
    return total


async def indexed_chunks_after(
    conn: Connection, after: UUID | None, *, run_id: UUID | None, limit: int
) -> list[asyncpg.Record]:
    """The next indexed chunks in id order, with what their points carry (a reindex's page)."""
    return await conn.fetch(
        """SELECT c.id, c.tenant_id, c.run_id, c.document_id, c.chunk_index, c.text, d.job_id, d.url,
                  d.title, d.document_type
             FROM chunks c JOIN documents d ON d.id = c.document_id
            WHERE c.indexed_at IS NOT NULL AND ($1::uuid IS NULL OR c.id > $1)
              AND ($2::uuid IS NULL OR c.run_id = $2)
            ORDER BY c.id LIMIT $3""",
        after,
        run_id,
        limit,
    )
