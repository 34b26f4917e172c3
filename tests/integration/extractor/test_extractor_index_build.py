"""Qdrant Edge builds no search index by itself: once enough points are searched by brute
force, the extractor reindexes them aside (copying the live vectors), builds the index there
while searches keep answering from the live collection, and switches."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import uuid4

import numpy as np
import pytest

from services.extractor import store
from services.extractor.domain.chunking import Chunk
from services.extractor.domain.search import chunk_id
from services.extractor.vectors.points import ChunkPoint, VectorFilter
from shared.config import Settings
from tests.integration.extractor.conftest import running_extractor
from tests.support import wait_until

pytestmark = pytest.mark.integration

CHUNKS = 10_500
PER_DOCUMENT = 50


async def test_enough_points_without_an_index_get_one_built_aside_while_searches_answer(
    extractor_settings: Settings, tmp_path: Path
) -> None:
    settings = extractor_settings.model_copy(
        update={
            "qdrant_path": str(tmp_path / "vectors"),
            "vector_index_threshold": 10_000,
            "reindex_check_seconds": 0.5,
        }
    )
    tenant, run = uuid4(), uuid4()
    rng = np.random.default_rng(4)
    async with running_extractor(settings) as extractor:
        live = extractor.pipeline.vectors.active
        dimension = live.store.dimension
        for first in range(0, CHUNKS, PER_DOCUMENT):
            doc = store.NewDocument(
                id=uuid4(),
                tenant_id=tenant,
                job_id=None,
                run_id=run,
                source_type="crawl",
                url=f"https://b.example/{first}",
                url_hash=None,
                content_hash="x",
                s3_key="raw/x",
                document_type="html",
                title="t",
            )
            chunks = [
                Chunk(index, f"chunk {first + index}", 3, (), None, 0, 0) for index in range(PER_DOCUMENT)
            ]
            async with extractor.pool.acquire() as conn, conn.transaction():
                await store.insert_document(conn, doc, chunks)
                await conn.execute("UPDATE chunks SET indexed_at = now() WHERE document_id = $1", doc.id)
            vectors = rng.standard_normal((PER_DOCUMENT, dimension)).astype(np.float32)
            await live.store.upsert(
                [
                    ChunkPoint(
                        chunk_id(doc.id, chunk.index),
                        vector.tolist(),
                        tenant,
                        None,
                        run,
                        doc.id,
                        chunk.index,
                        doc.url,
                        "t",
                        "html",
                        chunk.text,
                    )
                    for chunk, vector in zip(chunks, vectors, strict=True)
                ]
            )
        answered: list[int] = []

        async def search_until_switched() -> None:
            query = rng.standard_normal(dimension).tolist()
            while extractor.pipeline.vectors.active is live:
                answered.append(len(await extractor.pipeline.vectors.search(query, VectorFilter(tenant), 10)))
                await asyncio.sleep(0.1)

        searching = asyncio.create_task(search_until_switched())
        await wait_until(lambda: extractor.pipeline.vectors.active is not live, within=240, what="the switch")
        await searching
        now = extractor.pipeline.vectors.active.store
        chunks_stored = {row["id"] for row in await extractor.pool.fetch("SELECT id FROM chunks")}
        assert await now.point_ids() == chunks_stored
        assert await now.unindexed() < 10_000

        async def old_one_dropped() -> bool:  # after a grace for other replicas
            return await extractor.pool.fetchval("SELECT count(*) FROM vector_collections") == 1

        await wait_until(old_one_dropped, within=60, what="the old collection dropped")
        collections = await extractor.pool.fetch("SELECT name, state FROM vector_collections")
    assert answered and set(answered) == {10}, answered[:20]
    assert [(row["name"], row["state"]) for row in collections] == [(now.name, "active")]
    assert not (tmp_path / "vectors" / live.store.name).exists()
