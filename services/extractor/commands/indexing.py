"""Indexing: chunks waiting in Postgres (`indexed_at` NULL) into the vector index, then announced.

Chunks are embedded and upserted first; only then, in one unit of work per document, are
they marked indexed and ChunkIndexed written to the outbox. A crash at any point leaves the
document waiting and the next round redoes it: upserts overwrite the same point ids, and the
status change allows one ChunkIndexed per document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.extractor import metrics, store
from services.extractor.domain.outcomes import DocumentRef, DocumentSummary, chunk_indexed
from services.extractor.pipeline import Pipeline
from services.extractor.vectors.index import Target
from services.extractor.vectors.points import ChunkPoint
from shared.uow import Database


async def index_waiting(db: Database, pipeline: Pipeline) -> int:
    """Index one round of waiting documents; returns how many were finished."""
    async with db.connection() as conn:
        documents = await store.documents_to_index(conn, max_chunks=pipeline.settings.index_batch_chunks)
        if not documents:
            return 0
        chunks = await store.unindexed_chunks(conn, document_ids=[doc["id"] for doc in documents])
    # A reindex turns on mirroring (and switches collections) between rounds, never while
    # points are written to one collection but not yet marked indexed.
    async with pipeline.vectors.switch_lock:
        return await _index(db, pipeline, documents, chunks)


async def _index(
    db: Database, pipeline: Pipeline, documents: Sequence[asyncpg.Record], chunks: Sequence[asyncpg.Record]
) -> int:
    await upsert_chunks(pipeline, chunks, {doc["id"]: doc for doc in documents})
    finished = 0
    for doc in documents:
        async with db.unit_of_work() as uow:
            indexed_at = await store.mark_indexed(uow.conn, tenant_id=doc["tenant_id"], document_id=doc["id"])
            if indexed_at is None:
                if not await store.document_exists(
                    uow.conn, tenant_id=doc["tenant_id"], document_id=doc["id"]
                ):
                    # Deleted while we embedded: take back the points just written.
                    await pipeline.vectors.delete_ids(
                        [c["id"] for c in chunks if c["document_id"] == doc["id"]]
                    )
                continue
            reference = DocumentRef(
                tenant_id=doc["tenant_id"],
                job_id=doc["job_id"],
                run_id=doc["run_id"],
                document_id=doc["id"],
                url=doc["url"],
                url_hash=doc["url_hash"],
            )
            await uow.outbox.publish(
                chunk_indexed(
                    reference,
                    chunk_count=doc["chunk_count"],
                    embedding_model=pipeline.embedder.model_name,
                    indexed_at=indexed_at,
                    summary=DocumentSummary(
                        title=doc["title"] or None,
                        document_type=doc["document_type"],
                        markdown_key=doc["markdown_key"],
                        metadata=doc["metadata"],
                        items_found=doc["items_found"],
                        items_extracted=doc["items_extracted"],
                    ),
                )
            )
            finished += 1
    return finished


async def upsert_chunks(
    pipeline: Pipeline, chunks: Sequence[asyncpg.Record], documents: dict[Any, asyncpg.Record]
) -> None:
    """Embed chunk rows and write their points wherever new points go (the live collection,
    and the one a reindex is catching up). `documents` maps document id to a row with job_id,
    run_id, url, title, document_type. Also `trawl reconcile --repair`'s path."""
    await write_points(pipeline.vectors.writes(), chunks, documents)


async def write_points(
    targets: Sequence[Target], chunks: Sequence[asyncpg.Record], documents: dict[Any, asyncpg.Record]
) -> None:
    if not chunks:
        return
    texts = [chunk["text"] for chunk in chunks]
    embedded: dict[int, list[list[float]]] = {}  # one embedding per model, shared by its targets
    for target in targets:
        if id(target.embedder) not in embedded:
            embedded[id(target.embedder)] = await target.embedder.embed(texts)
        vectors = embedded[id(target.embedder)]
        await target.store.upsert(
            [
                chunk_point(chunk, vector, documents[chunk["document_id"]])
                for chunk, vector in zip(chunks, vectors, strict=True)
            ]
        )
    metrics.CHUNKS_INDEXED.inc(len(chunks))


def chunk_point(chunk: asyncpg.Record, vector: list[float], doc: asyncpg.Record) -> ChunkPoint:
    return ChunkPoint(
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
