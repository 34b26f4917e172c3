"""Hybrid search at scale through the extractor's own search path: Postgres full text (keyword),
Qdrant Edge (vector) and their fusion, at 100,000 and 300,000 chunks of realistic text.

    python -m bench.search_at_scale [--sizes 100000,300000] [--queries 200]

Chunk text has a Zipf-distributed vocabulary of 30,000 terms (`bench.realistic_text`); vectors
are real embeddings of a base set plus noise (see `bench.vector_search`); the live collection
has had its HNSW built, as after `trawl reindex`. One tenant holds 80% of the chunks, nine
others the rest. Needs PostgreSQL (TRAWL_PG_DSN or the local stack); works in a throwaway
schema, dropped at the end. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from uuid import UUID, uuid4

import numpy as np
import numpy.typing as npt

from bench.realistic_text import zipf_queries, zipf_texts
from bench.vector_search import BIG, RUNS, base_vectors, noisy, percentile, tenant_for
from services.extractor import store
from services.extractor.app import SPEC
from services.extractor.commands.search import search
from services.extractor.domain.chunking import Chunk
from services.extractor.domain.search import chunk_id
from services.extractor.pipeline import Pipeline, open_pipeline
from services.extractor.vectors.points import ChunkPoint
from shared import migrations
from shared.config import Settings
from shared.db import connect_admin, create_pool
from shared.search_api import SearchMode, SearchRequest
from shared.uow import Database

PER_DOCUMENT = 10
DOCUMENTS_PER_COMMIT = 500


async def _load(db: Database, pipeline: Pipeline, size: int, base: npt.NDArray[np.float32]) -> None:
    texts = zipf_texts(size, seed=size)
    for first in range(0, size // PER_DOCUMENT, DOCUMENTS_PER_COMMIT):
        points = []
        async with db.connection() as conn, conn.transaction():
            for number in range(first, min(first + DOCUMENTS_PER_COMMIT, size // PER_DOCUMENT)):
                chunks = [
                    Chunk(index, next(texts), 120, ("Bench",), None, 0, 0) for index in range(PER_DOCUMENT)
                ]
                doc = store.NewDocument(
                    id=uuid4(),
                    tenant_id=tenant_for(number * PER_DOCUMENT),
                    job_id=None,
                    run_id=RUNS[number % len(RUNS)],
                    source_type="crawl",
                    url=f"https://bench.example/{number}",
                    url_hash=None,
                    content_hash="x",
                    s3_key="raw/x",
                    document_type="html",
                    title=f"Document {number}",
                )
                await store.insert_document(conn, doc, chunks)
                vectors = noisy(base, len(chunks), seed=number)
                points += [
                    ChunkPoint(
                        chunk_id(doc.id, chunk.index),
                        vector.tolist(),
                        doc.tenant_id,
                        None,
                        doc.run_id,
                        doc.id,
                        chunk.index,
                        doc.url,
                        doc.title,
                        "html",
                        chunk.text,
                    )
                    for chunk, vector in zip(chunks, vectors, strict=True)
                ]
            await conn.execute("UPDATE chunks SET indexed_at = now() WHERE indexed_at IS NULL")
        await pipeline.vectors.active.store.upsert(points)


async def bench_size(
    settings: Settings, size: int, queries: list[str], base: npt.NDArray[np.float32]
) -> None:
    directory = tempfile.mkdtemp(prefix="bench-search-")
    settings = settings.model_copy(
        update={"schema_prefix": f"bench{uuid4().hex[:8]}_", "qdrant_path": directory}
    )
    schema = settings.schema_for("extractor")
    admin = await connect_admin(settings)
    await migrations.migrate(admin, schema, migrations.discover(SPEC.migrations_dir))
    pool = await create_pool(settings, "extractor")
    db = Database(pool, service=SPEC.name, topic_prefix=settings.topic_prefix)
    try:
        async with open_pipeline(settings, db) as pipeline:
            started = time.perf_counter()
            await _load(db, pipeline, size, base)
            await pool.execute("VACUUM ANALYZE chunks")
            await pool.execute("VACUUM ANALYZE documents")
            loaded = time.perf_counter() - started
            began = time.perf_counter()
            await pipeline.vectors.active.store.build_index()
            print(
                f"{size:,} chunks: loaded in {loaded:.0f}s, HNSW built in {time.perf_counter() - began:.0f}s"
            )
            for label, tenant, run in (
                ("big tenant", BIG, None),
                ("big tenant, one run", BIG, RUNS[1]),
                ("small tenant", UUID(int=5), None),
            ):
                for mode in SearchMode:
                    took = []
                    for query in queries:
                        request = SearchRequest(tenant_id=tenant, run_id=run, query=query, mode=mode)
                        began = time.perf_counter()
                        await search(db, pipeline, request)
                        took.append((time.perf_counter() - began) * 1000)
                    p50, p95 = percentile(took, 50), percentile(took, 95)
                    print(f"  {label:20} {mode.value:8} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
    finally:
        await pool.close()
        await migrations.drop_schema(admin, schema)
        await admin.close()
        shutil.rmtree(directory, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    base = await base_vectors()
    queries = zipf_queries(args.queries, seed=5)
    print(f"queries like: {queries[:3]}")
    for size in (int(value) for value in args.sizes.split(",")):
        await bench_size(Settings(), size, queries, base)


if __name__ == "__main__":
    asyncio.run(main())
