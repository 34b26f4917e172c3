"""The LLM service's SQL; nothing else touches its tables."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from shared.db import Connection
from shared.events import LlmQuery


async def add_queries(
    conn: Connection, *, run_id: UUID, tenant_id: UUID, queries: Sequence[LlmQuery]
) -> None:
    await conn.executemany(
        """INSERT INTO queries (run_id, tenant_id, name, prompt, output_schema) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (run_id, name) DO NOTHING""",
        [(run_id, tenant_id, query.name, query.prompt, query.output_schema) for query in queries],
    )
