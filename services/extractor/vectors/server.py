"""A Qdrant server or cluster (`TRAWL_QDRANT_URL`) through qdrant-client.

qdrant-client's local mode speaks the same API in-process; it is this adapter's test double
(`local_client`), not a production path: it scores in Python and ignores payload indexes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from qdrant_client import AsyncQdrantClient, QdrantClient, models

from services.extractor.vectors.points import (
    INDEXED_FIELDS,
    ChunkPoint,
    VectorFilter,
    VectorHit,
    scope,
)

_SCROLL_PAGE = 1000


class _LocalClient:
    """Local mode computes in the calling thread (its async client too): each call runs in a
    worker thread, one at a time (the local store is not made for concurrent callers)."""

    def __init__(self, client: QdrantClient) -> None:
        self._client = client
        self._lock = asyncio.Lock()

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            async with self._lock:
                return await asyncio.to_thread(method, *args, **kwargs)

        return call


def server_client(url: str, api_key: str | None) -> Any:
    return AsyncQdrantClient(url=url, api_key=api_key, timeout=10, check_compatibility=False)


def local_client() -> Any:
    """An in-memory qdrant-client local mode, for tests of this adapter."""
    return _LocalClient(QdrantClient(location=":memory:"))


def _filter(matches: list[tuple[str, str]]) -> models.Filter | None:
    if not matches:
        return None
    return models.Filter(
        must=[models.FieldCondition(key=key, match=models.MatchValue(value=value)) for key, value in matches]
    )


class ServerVectorStore:
    """One collection on a server. The client is shared between collections and closed by
    whoever opened it."""

    def __init__(self, client: Any, name: str, dimension: int) -> None:
        self._client = client
        self.name = name
        self.dimension = dimension
        self._exists = False
        self._local = isinstance(client, _LocalClient)

    async def _ensure(self) -> None:
        """Create the collection on first use (not at startup: a Qdrant that is down then
        must not keep the service from starting; chunks wait for it instead)."""
        if self._exists or await self._client.collection_exists(self.name):
            self._exists = True
            return
        await self._client.create_collection(
            self.name,
            vectors_config=models.VectorParams(size=self.dimension, distance=models.Distance.COSINE),
        )
        if not self._local:  # local mode scans, and warns that payload indexes do nothing there
            for field in INDEXED_FIELDS:
                await self._client.create_payload_index(
                    self.name, field, models.PayloadSchemaType.KEYWORD, wait=True
                )
        self._exists = True

    async def ping(self) -> None:
        await self._client.get_collections()

    async def upsert(self, points: Sequence[ChunkPoint]) -> None:
        if not points:
            return
        await self._ensure()
        await self._client.upsert(
            self.name,
            points=[
                models.PointStruct(id=str(point.chunk_id), vector=point.vector, payload=point.payload())
                for point in points
            ],
            wait=True,
        )

    async def search(self, vector: list[float], where: VectorFilter, limit: int) -> list[VectorHit]:
        await self._ensure()
        answer = await self._client.query_points(
            self.name, query=vector, query_filter=_filter(where.matches()), limit=limit, with_payload=["url"]
        )
        return [
            VectorHit(UUID(str(point.id)), point.score, (point.payload or {}).get("url"))
            for point in answer.points
        ]

    async def delete_ids(self, ids: Sequence[UUID]) -> None:
        if ids:
            await self._ensure()
            await self._client.delete(
                self.name, points_selector=models.PointIdsList(points=[str(i) for i in ids]), wait=True
            )

    async def delete_run(self, tenant_id: UUID, run_id: UUID) -> None:
        await self._ensure()
        selector = models.FilterSelector(filter=_filter(scope(tenant_id, run_id)))
        await self._client.delete(self.name, points_selector=selector, wait=True)

    async def vectors(self, ids: Sequence[UUID]) -> dict[UUID, list[float]]:
        if not ids:
            return {}
        await self._ensure()
        records = await self._client.retrieve(
            self.name, [str(i) for i in ids], with_payload=False, with_vectors=True
        )
        return {UUID(str(record.id)): list(record.vector) for record in records if record.vector is not None}

    async def point_ids(self, tenant_id: UUID | None = None, run_id: UUID | None = None) -> set[UUID]:
        await self._ensure()
        where = _filter(scope(tenant_id, run_id))
        ids: set[UUID] = set()
        offset: Any = None
        while True:
            points, offset = await self._client.scroll(
                self.name, scroll_filter=where, limit=_SCROLL_PAGE, offset=offset, with_payload=False
            )
            ids.update(UUID(str(point.id)) for point in points)
            if offset is None:
                return ids

    async def count(self, where: VectorFilter | None = None) -> int:
        await self._ensure()
        answer = await self._client.count(
            self.name, count_filter=_filter(where.matches()) if where else None, exact=True
        )
        total: int = answer.count
        return total

    async def unindexed(self) -> int:
        """None that is ours to build: the server's optimizer indexes in the background."""
        return 0

    async def build_index(self) -> None:
        """The server builds its indexes in the background by itself."""

    async def drop(self) -> None:
        await self._client.delete_collection(self.name)
        self._exists = False

    async def close(self) -> None:
        """The client belongs to the index that opened this store."""
