"""The extractor's background loops: the indexer and the run-deletion driver.

Indexer: documents whose chunks are in Postgres with `indexed_at` NULL are embedded and
upserted into the vector index first; only then, in one transaction per document, are the
chunks marked indexed and ChunkIndexed written to the outbox. A crash at any point leaves
the document waiting and the next round redoes it: upserts overwrite the same point ids, and
the status change allows one ChunkIndexed per document. Qdrant or the embedder being down
stalls the loop (readiness says why) and nothing is lost.

Deletion: a RunDeleted leaves a `run_deletions` row; this loop drives it through Postgres
rows, vector points and S3 objects, one recorded step at a time, so a crash resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg

from services.extractor import metrics, store
from services.extractor.pipeline import Pipeline
from services.extractor.vectors import ChunkPoint
from shared.events import ChunkIndexed
from shared.outbox import Outbox
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)

_MAX_BACKOFF = 30.0


async def index_forever(runtime: ServiceRuntime) -> None:
    pipeline = runtime.resources.get(Pipeline)
    pool = runtime.resources.get(asyncpg.Pool)
    settings = runtime.settings
    backoff = settings.index_poll_interval
    while True:
        try:
            indexed = await index_once(pool, pipeline, topic_prefix=settings.topic_prefix)
        except Exception as exc:
            pipeline.health.failed(exc)
            log.warning("indexing failed, chunks wait (retry in %.1fs): %s", backoff, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)
            continue
        pipeline.health.succeeded()
        backoff = settings.index_poll_interval
        async with pool.acquire() as conn:
            pending, oldest = await store.index_lag(conn)
        metrics.INDEX_PENDING_CHUNKS.set(pending)
        metrics.INDEX_OLDEST_PENDING_SECONDS.set(oldest)
        if not indexed:
            await asyncio.sleep(settings.index_poll_interval)


async def index_once(pool: asyncpg.Pool, pipeline: Pipeline, *, topic_prefix: str) -> int:
    """Index one round of waiting documents; returns how many were finished."""
    async with pool.acquire() as conn:
        documents = await store.documents_to_index(conn, max_chunks=pipeline.settings.index_batch_chunks)
        if not documents:
            return 0
        chunks = await store.unindexed_chunks(conn, document_ids=[doc["id"] for doc in documents])
    await upsert_chunks(pipeline, chunks, {doc["id"]: doc for doc in documents})
    finished = 0
    for doc in documents:
        async with pool.acquire() as conn, conn.transaction():
            indexed_at = await store.mark_indexed(conn, tenant_id=doc["tenant_id"], document_id=doc["id"])
            if indexed_at is None:
                if not await store.document_exists(conn, tenant_id=doc["tenant_id"], document_id=doc["id"]):
                    # Deleted while we embedded: take back the points just written.
                    await pipeline.vectors.delete_ids(
                        [c["id"] for c in chunks if c["document_id"] == doc["id"]]
                    )
                continue
            outbox = Outbox(conn, source="extractor", topic_prefix=topic_prefix)
            await outbox.publish(
                ChunkIndexed(
                    tenant_id=doc["tenant_id"],
                    job_id=doc["job_id"],
                    run_id=doc["run_id"],
                    document_id=doc["id"],
                    url=doc["url"],
                    chunk_count=doc["chunk_count"],
                    embedding_model=pipeline.embedder.model_name,
                    indexed_at=indexed_at,
                    url_hash=doc["url_hash"],
                )
            )
            finished += 1
    return finished


async def upsert_chunks(
    pipeline: Pipeline, chunks: Sequence[asyncpg.Record], documents: dict[Any, asyncpg.Record]
) -> None:
    """Embed chunk rows and write their points (also `trawl reconcile --repair`'s path).
    `documents` maps document id to a row with job_id, run_id, url, title, document_type."""
    if not chunks:
        return
    vectors = await pipeline.embedder.embed([chunk["text"] for chunk in chunks])
    points = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        doc = documents[chunk["document_id"]]
        points.append(
            ChunkPoint(
                chunk_id=chunk["id"],
                vector=vector,
                tenant_id=chunk["tenant_id"],
                job_id=doc["job_id"],
                run_id=doc["run_id"],
                document_id=chunk["document_id"],
                chunk_index=chunk["chunk_index"],
                url=doc["url"],
                title=doc["title"],
                document_type=doc["document_type"],
                text=chunk["text"],
            )
        )
    await pipeline.vectors.upsert(points)
    metrics.CHUNKS_INDEXED.inc(len(points))


async def delete_runs_forever(runtime: ServiceRuntime) -> None:
    pipeline = runtime.resources.get(Pipeline)
    pool = runtime.resources.get(asyncpg.Pool)
    objects = runtime.resources.get(ObjectStore)
    while True:
        async with pool.acquire() as conn:
            pending = await store.pending_deletions(conn)
        for deletion in pending:
            try:
                await drive_deletion(pool, pipeline, objects, deletion)
            except Exception:
                log.exception("deleting run %s stalled; will retry", deletion["run_id"])
        await asyncio.sleep(runtime.settings.index_poll_interval)


async def drive_deletion(
    pool: asyncpg.Pool, pipeline: Pipeline, objects: ObjectStore, deletion: asyncpg.Record
) -> None:
    """Rows, then points, then objects; each step is recorded, and each is safe to repeat."""
    tenant_id, run_id, state = deletion["tenant_id"], deletion["run_id"], deletion["state"]
    if state == "pending":
        async with pool.acquire() as conn, conn.transaction():
            await store.delete_run_rows(conn, tenant_id=tenant_id, run_id=run_id)
        state = "rows_deleted"
    if state == "rows_deleted":
        await pipeline.vectors.delete_run(tenant_id, run_id)
        async with pool.acquire() as conn:
            await store.set_deletion_state(conn, tenant_id=tenant_id, run_id=run_id, state="points_deleted")
        state = "points_deleted"
    if state == "points_deleted":
        async with pool.acquire() as conn:
            keys = await store.deletion_keys(conn, tenant_id=tenant_id, run_id=run_id)
            orphans = await store.unreferenced_keys(conn, keys)
        await objects.delete_many(orphans)
        async with pool.acquire() as conn:
            await store.set_deletion_state(conn, tenant_id=tenant_id, run_id=run_id, state="done")
        log.info("run %s deleted: rows, points and %d objects", run_id, len(orphans))
