"""Hybrid search over a tenant's chunks, served on the extractor's internal HTTP.

Vector top-k from Qdrant and full-text top-k from Postgres (`websearch_to_tsquery`,
`ts_rank_cd`) fused with Reciprocal Rank Fusion; `mode` picks one side or both. Both sides
filter on the tenant. Ingest's public `/v1/search` reaches it through the extractor's
internal HTTP route (`http.py`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

import asyncpg

from services.extractor import metrics, store
from services.extractor.domain.search import Fused, reciprocal_rank_fusion
from services.extractor.pipeline import Pipeline
from services.extractor.vectors.points import VectorFilter, VectorHit
from shared.db import Connection
from shared.search_api import SearchHit, SearchMode, SearchRequest, SearchResponse
from shared.uow import Database

_MIN_CANDIDATES = 50
_URL_PREFIX_OVERFETCH = 10  # url prefixes are filtered after the vector search
_TAGS_OVERFETCH = 4  # tags are filtered after fusion


async def search(db: Database, pipeline: Pipeline, request: SearchRequest) -> SearchResponse:
    started = time.perf_counter()
    depth = max(request.limit * 4, _MIN_CANDIDATES) * (_TAGS_OVERFETCH if request.tags else 1)
    vector, keyword = await asyncio.gather(
        _vector_candidates(pipeline, request, depth) if request.mode is not SearchMode.KEYWORD else _none(),
        _keyword_candidates(db, request, depth) if request.mode is not SearchMode.VECTOR else _none(),
    )

    vector_scores = {hit.chunk_id: hit.score for hit in vector}
    keyword_scores = dict(keyword)
    fused: list[Fused[UUID]] = reciprocal_rank_fusion(
        [[hit.chunk_id for hit in vector], [chunk for chunk, _ in keyword]]
    )
    # One URL's older versions and untagged documents fall out after fusion, so take enough
    # candidates to fill the page.
    top = fused if request.distinct_urls or request.tags else fused[: request.limit]
    async with db.connection() as conn:
        details = await store.hit_details(
            conn, tenant_id=request.tenant_id, chunk_ids=[item.key for item in top]
        )
        if request.tags:
            top = await _tagged(conn, request, top, details)
        if request.distinct_urls:
            top = await _one_per_url(conn, request, top, details)
        shown = await store.snippets(
            conn, tenant_id=request.tenant_id, chunk_ids=[item.key for item in top], query=request.query
        )
    hits = []
    for item in top:
        row = details.get(item.key)
        if row is None:  # a point whose chunk is gone (deleted meanwhile); reconcile removes it
            continue
        vector_rank, keyword_rank = item.ranks
        score = (
            item.score
            if request.mode is SearchMode.HYBRID
            else vector_scores[item.key]
            if request.mode is SearchMode.VECTOR
            else keyword_scores[item.key]
        )
        hits.append(
            SearchHit(
                chunk_id=item.key,
                document_id=row["document_id"],
                job_id=row["job_id"],
                run_id=row["run_id"],
                chunk_index=row["chunk_index"],
                url=row["url"],
                title=row["title"],
                document_type=row["document_type"],
                text=row["text"],
                snippet=shown.get(item.key, ""),
                score=score,
                vector_score=vector_scores.get(item.key),
                vector_rank=vector_rank,
                keyword_score=keyword_scores.get(item.key),
                keyword_rank=keyword_rank,
                metadata=row["metadata"],
            )
        )
    took = time.perf_counter() - started
    metrics.SEARCH_SECONDS.labels(request.mode.value).observe(took)
    return SearchResponse(query=request.query, mode=request.mode, hits=hits, took_ms=took * 1000)


async def _tagged(
    conn: Connection, request: SearchRequest, fused: list[Fused[UUID]], details: dict[UUID, asyncpg.Record]
) -> list[Fused[UUID]]:
    """The candidates whose document has every tag asked for (the page still to fill when
    distinct URLs are asked for; else cut to the limit here)."""
    tagged = await store.tagged_documents(
        conn,
        tenant_id=request.tenant_id,
        document_ids=sorted({row["document_id"] for row in details.values()}),
        tags=request.tags,
    )
    kept = [
        item for item in fused if (row := details.get(item.key)) is not None and row["document_id"] in tagged
    ]
    return kept if request.distinct_urls else kept[: request.limit]


async def _one_per_url(
    conn: Connection, request: SearchRequest, fused: list[Fused[UUID]], details: dict[UUID, asyncpg.Record]
) -> list[Fused[UUID]]:
    """The best-ranked chunk of each URL's latest version, in rank order; chunks without a URL
    (uploads) are each their own."""
    urls = {row["url"] for row in details.values() if row["url"] is not None}
    latest = await store.latest_documents(
        conn, tenant_id=request.tenant_id, urls=sorted(urls), job_id=request.job_id, run_id=request.run_id
    )
    kept: list[Fused[UUID]] = []
    seen: set[str] = set()
    for item in fused:
        row = details.get(item.key)
        if row is None:
            continue
        url = row["url"]
        if url is not None and (url in seen or latest.get(url) != row["document_id"]):
            continue
        if url is not None:
            seen.add(url)
        kept.append(item)
        if len(kept) == request.limit:
            break
    return kept


async def _vector_candidates(pipeline: Pipeline, request: SearchRequest, depth: int) -> list[VectorHit]:
    live = pipeline.vectors.active  # the query is embedded by the model of the collection it searches
    (query_vector,) = await live.embedder.embed([request.query])
    where = VectorFilter(
        request.tenant_id, job_id=request.job_id, run_id=request.run_id, document_type=request.document_type
    )
    if request.url_prefix is None:
        return await live.store.search(query_vector, where, depth)
    hits = await live.store.search(query_vector, where, depth * _URL_PREFIX_OVERFETCH)
    return [hit for hit in hits if (hit.url or "").startswith(request.url_prefix)][:depth]


async def _keyword_candidates(db: Database, request: SearchRequest, depth: int) -> list[tuple[UUID, float]]:
    async with db.connection() as conn:
        return await store.keyword_search(
            conn,
            tenant_id=request.tenant_id,
            query=request.query,
            job_id=request.job_id,
            run_id=request.run_id,
            document_type=request.document_type,
            url_prefix=request.url_prefix,
            limit=depth,
            enough=request.limit,
        )


async def _none() -> list[Any]:
    return []
