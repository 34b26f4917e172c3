"""The chaos run's reads of the services' own tables: what the public API does not count."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from shared.config import Settings
from shared.db import connect_admin


@dataclass(frozen=True)
class Stored:
    documents: int
    document_urls: int
    duplicate_chunks: int  # chunks beyond one per (URL, chunk index)
    indexed_chunks: int
    llm_tasks: dict[str, int]  # by status


async def stored(settings: Settings, run_id: UUID) -> Stored:
    extractor, llm = settings.schema_for("extractor"), settings.schema_for("llm")
    conn = await connect_admin(settings)
    try:
        documents = await conn.fetchrow(
            f"SELECT count(*) AS n, count(DISTINCT url) AS urls FROM {extractor}.documents WHERE run_id = $1",
            run_id,
        )
        chunks = await conn.fetchrow(
            f"""SELECT count(*) - count(DISTINCT (d.url, c.chunk_index)) AS duplicates,
                       count(*) FILTER (WHERE c.indexed_at IS NOT NULL) AS indexed
                FROM {extractor}.chunks c JOIN {extractor}.documents d ON d.id = c.document_id
                WHERE c.run_id = $1""",
            run_id,
        )
        tasks = await conn.fetch(
            f"SELECT status, count(*) AS n FROM {llm}.llm_tasks WHERE run_id = $1 GROUP BY status", run_id
        )
    finally:
        await conn.close()
    assert documents is not None and chunks is not None
    return Stored(
        documents=documents["n"],
        document_urls=documents["urls"],
        duplicate_chunks=chunks["duplicates"],
        indexed_chunks=chunks["indexed"],
        llm_tasks={row["status"]: row["n"] for row in tasks},
    )
