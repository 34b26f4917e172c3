"""One contract, both vector engines: Qdrant Edge (embedded, in its host process) and a Qdrant
server through qdrant-client (its local mode as the test double, or the server at
`TRAWL_QDRANT_URL` when one is set)."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import numpy as np
import pytest

from services.extractor.vectors.edge import EdgeVectorStore
from services.extractor.vectors.points import ChunkPoint, VectorFilter, VectorStore, VectorStoreDown
from services.extractor.vectors.server import ServerVectorStore, local_client, server_client

DIMENSION = 16


@pytest.fixture(params=["edge", "server"])
async def vector_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VectorStore]:
    name = f"contract_{uuid4().hex[:8]}"
    if request.param == "edge":
        edge = EdgeVectorStore(tmp_path, name, DIMENSION)
        yield edge
        await edge.drop()
        return
    url = os.environ.get("TRAWL_QDRANT_URL")
    client = server_client(url, os.environ.get("TRAWL_QDRANT_API_KEY")) if url else local_client()
    server = ServerVectorStore(client, name, DIMENSION)
    yield server
    await server.drop()
    await client.close()


def _vector(seed: int) -> list[float]:
    values = np.random.default_rng(seed).standard_normal(DIMENSION)
    unit: list[float] = (values / np.linalg.norm(values)).tolist()
    return unit


def _point(
    seed: int,
    *,
    tenant: UUID,
    run: UUID,
    job: UUID | None = None,
    document_type: str = "html",
    chunk_id: UUID | None = None,
    url: str | None = None,
) -> ChunkPoint:
    return ChunkPoint(
        chunk_id=chunk_id or uuid4(),
        vector=_vector(seed),
        tenant_id=tenant,
        job_id=job,
        run_id=run,
        document_id=uuid4(),
        chunk_index=0,
        url=url or f"https://contract.example/{seed}",
        title=f"page {seed}",
        document_type=document_type,
        text=f"chunk {seed}",
    )


async def test_an_upsert_of_the_same_chunk_is_one_point(vector_store: VectorStore) -> None:
    tenant, run, chunk = uuid4(), uuid4(), uuid4()
    await vector_store.upsert([_point(1, tenant=tenant, run=run, chunk_id=chunk)])
    await vector_store.upsert(
        [_point(2, tenant=tenant, run=run, chunk_id=chunk, url="https://contract.example/new")]
    )
    assert await vector_store.count(VectorFilter(tenant)) == 1
    (hit,) = await vector_store.search(_vector(2), VectorFilter(tenant), 5)
    assert (hit.chunk_id, hit.url) == (chunk, "https://contract.example/new")
    assert hit.score == pytest.approx(1.0, abs=1e-4)


async def test_search_returns_the_nearest_points_of_the_tenant_only(vector_store: VectorStore) -> None:
    mine, theirs, run = uuid4(), uuid4(), uuid4()
    points = [_point(seed, tenant=mine, run=run) for seed in range(20)]
    await vector_store.upsert(points)
    await vector_store.upsert([_point(seed, tenant=theirs, run=run) for seed in range(20)])
    hits = await vector_store.search(_vector(7), VectorFilter(mine), 5)
    assert hits[0].chunk_id == points[7].chunk_id
    assert {hit.chunk_id for hit in hits} <= {point.chunk_id for point in points}
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert await vector_store.search(_vector(7), VectorFilter(uuid4()), 5) == []


async def test_search_narrows_to_a_job_a_run_and_a_document_type(vector_store: VectorStore) -> None:
    tenant, job, run, other_run = uuid4(), uuid4(), uuid4(), uuid4()
    pdf = _point(1, tenant=tenant, run=run, job=job, document_type="pdf")
    html = _point(2, tenant=tenant, run=run, job=job)
    elsewhere = _point(3, tenant=tenant, run=other_run)
    await vector_store.upsert([pdf, html, elsewhere])

    async def found(where: VectorFilter) -> set[UUID]:
        return {hit.chunk_id for hit in await vector_store.search(_vector(1), where, 10)}

    assert await found(VectorFilter(tenant, run_id=run)) == {pdf.chunk_id, html.chunk_id}
    assert await found(VectorFilter(tenant, job_id=job)) == {pdf.chunk_id, html.chunk_id}
    assert await found(VectorFilter(tenant, document_type="pdf")) == {pdf.chunk_id}
    assert await found(VectorFilter(tenant, run_id=other_run, document_type="pdf")) == set()


async def test_deletes_by_id_and_by_run_touch_nothing_else(vector_store: VectorStore) -> None:
    tenant, other_tenant, doomed, kept = uuid4(), uuid4(), uuid4(), uuid4()
    doomed_points = [_point(seed, tenant=tenant, run=doomed) for seed in range(5)]
    kept_points = [_point(seed, tenant=tenant, run=kept) for seed in range(5, 10)]
    same_run_other_tenant = _point(11, tenant=other_tenant, run=doomed)
    await vector_store.upsert([*doomed_points, *kept_points, same_run_other_tenant])

    await vector_store.delete_run(tenant, doomed)
    await vector_store.delete_ids([kept_points[0].chunk_id])

    assert await vector_store.point_ids(tenant) == {point.chunk_id for point in kept_points[1:]}
    assert await vector_store.point_ids(other_tenant, doomed) == {same_run_other_tenant.chunk_id}
    assert await vector_store.count(VectorFilter(tenant, run_id=doomed)) == 0
    assert len(await vector_store.point_ids()) == 5
    await vector_store.delete_ids([])  # nothing to do is not an error


async def test_point_ids_page_through_every_point(vector_store: VectorStore) -> None:
    tenant, run = uuid4(), uuid4()
    points = [_point(seed, tenant=tenant, run=run) for seed in range(2500)]
    for start in range(0, len(points), 500):
        await vector_store.upsert(points[start : start + 500])
    assert await vector_store.point_ids(tenant, run) == {point.chunk_id for point in points}


async def test_building_the_index_keeps_every_answer(vector_store: VectorStore) -> None:
    tenant, run = uuid4(), uuid4()
    points = [_point(seed, tenant=tenant, run=run) for seed in range(300)]
    await vector_store.upsert(points)
    await vector_store.build_index()
    hits = await vector_store.search(_vector(42), VectorFilter(tenant), 3)
    assert hits[0].chunk_id == points[42].chunk_id
    assert await vector_store.count(VectorFilter(tenant)) == 300


async def test_an_edge_shard_keeps_every_acknowledged_point_when_its_host_is_killed(tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path, "durable", DIMENSION)
    tenant, run = uuid4(), uuid4()
    points = [_point(seed, tenant=tenant, run=run) for seed in range(200)]
    try:
        await store.upsert(points[:100])
        await store.upsert(points[100:])
        host_pid = await store.host_pid()
        os.kill(host_pid, signal.SIGKILL)
        with pytest.raises(VectorStoreDown):
            await store.count()
        # The next call starts a new host, which loads the shard from disk.
        assert await store.host_pid() != host_pid
        assert await store.point_ids(tenant, run) == {point.chunk_id for point in points}
    finally:
        await store.close()
    reopened = EdgeVectorStore(tmp_path, "durable", DIMENSION)
    try:
        assert await reopened.count(VectorFilter(tenant)) == 200
    finally:
        await reopened.drop()
