"""The chunk vectors in Qdrant: one collection per embedding model and dimension.

The same code runs against a Qdrant server (`TRAWL_QDRANT_URL`) and qdrant-client's local
mode (a directory, or ':memory:' in tests). Local mode lets one process own a directory, so
there it lives inside the extractor. Point id = chunk id, so upserts are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from qdrant_client import AsyncQdrantClient, QdrantClient, models

from shared.config import Settings

TEXT_PREFIX_CHARS = 500
_SCROLL_PAGE = 1000


@dataclass(frozen=True)
class ChunkPoint:
    chunk_id: UUID
    vector: list[float]
    tenant_id: UUID
    job_id: UUID | None
    run_id: UUID
    document_id: UUID
    chunk_index: int
    url: str | None
    title: str
    document_type: str
    text: str

    def payload(self) -> dict[str, Any]:
        return {
            "tenant_id": str(self.tenant_id),
            "job_id": str(self.job_id) if self.job_id else None,
            "run_id": str(self.run_id),
            "document_id": str(self.document_id),
            "chunk_index": self.chunk_index,
            "url": self.url,
            "title": self.title,
            "document_type": self.document_type,
            "text": self.text[:TEXT_PREFIX_CHARS],
        }


@dataclass(frozen=True)
class VectorFilter:
    tenant_id: UUID
    job_id: UUID | None = None
    run_id: UUID | None = None
    document_type: str | None = None

    def to_qdrant(self) -> models.Filter:
        conditions: list[models.Condition] = [_match("tenant_id", self.tenant_id)]
        for key, value in (
            ("job_id", self.job_id),
            ("run_id", self.run_id),
            ("document_type", self.document_type),
        ):
            if value is not None:
                conditions.append(_match(key, value))
        return models.Filter(must=conditions)


def _match(key: str, value: object) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=str(value)))


@dataclass(frozen=True)
class VectorHit:
    chunk_id: UUID
    score: float
    url: str | None


class _LocalClient:
    """qdrant-client's local mode computes in the calling thread (its async client too), which
    at 100k points holds the event loop for seconds: here each call runs in a worker thread,
    one at a time (the local store is not made for concurrent callers)."""

    def __init__(self, client: QdrantClient) -> None:
        self._client = client
        self._lock = asyncio.Lock()

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            async with self._lock:
                return await asyncio.to_thread(method, *args, **kwargs)

        return call


class VectorIndex:
    def __init__(self, client: AsyncQdrantClient | _LocalClient, collection: str, dimension: int) -> None:
        self._client: Any = client
        self.collection = collection
        self.dimension = dimension
        self._local = isinstance(client, _LocalClient)
        self._exists = False

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings, *, model_slug: str, dimension: int) -> AsyncIterator[VectorIndex]:
        client: AsyncQdrantClient | _LocalClient
        if settings.qdrant_url:
            client = AsyncQdrantClient(
                url=settings.qdrant_url,
                api_key=settings.qdrant_api_key,
                timeout=10,
                check_compatibility=False,
            )
        else:
            location = settings.qdrant_path or str(settings.home / "qdrant")
            in_memory = location == ":memory:"
            client = _LocalClient(
                QdrantClient(location=location) if in_memory else QdrantClient(path=location)
            )
        index = cls(client, f"{settings.schema_prefix}chunks_{model_slug}", dimension)
        try:
            yield index
        finally:
            await client.close()

    async def ensure_collection(self) -> None:
        """Create the collection on first use (not at startup: a Qdrant that is down then
        must not keep the service from starting; chunks wait for it instead)."""
        if self._exists or await self._client.collection_exists(self.collection):
            self._exists = True
            return
        await self._client.create_collection(
            self.collection,
            vectors_config=models.VectorParams(size=self.dimension, distance=models.Distance.COSINE),
        )
        if not self._local:
            # Local mode filters by scanning and warns that payload indexes do nothing there.
            for field in ("tenant_id", "run_id"):
                await self._client.create_payload_index(
                    self.collection, field, models.PayloadSchemaType.KEYWORD, wait=True
                )
        self._exists = True

    async def ping(self) -> None:
        await self._client.get_collections()

    async def upsert(self, points: Sequence[ChunkPoint]) -> None:
        if not points:
            return
        await self.ensure_collection()
        await self._client.upsert(
            self.collection,
            points=[
                models.PointStruct(id=str(point.chunk_id), vector=point.vector, payload=point.payload())
                for point in points
            ],
            wait=True,
        )

    async def search(self, vector: list[float], where: VectorFilter, limit: int) -> list[VectorHit]:
        await self.ensure_collection()
        answer = await self._client.query_points(
            self.collection, query=vector, query_filter=where.to_qdrant(), limit=limit, with_payload=["url"]
        )
        return [
            VectorHit(UUID(str(point.id)), point.score, (point.payload or {}).get("url"))
            for point in answer.points
        ]

    async def delete_ids(self, ids: Sequence[UUID]) -> None:
        await self.ensure_collection()
        if ids:
            await self._client.delete(
                self.collection, points_selector=models.PointIdsList(points=[str(i) for i in ids]), wait=True
            )

    async def delete_run(self, tenant_id: UUID, run_id: UUID) -> None:
        await self.ensure_collection()
        selector = models.FilterSelector(filter=VectorFilter(tenant_id, run_id=run_id).to_qdrant())
        await self._client.delete(self.collection, points_selector=selector, wait=True)

    async def point_ids(self, tenant_id: UUID | None = None, run_id: UUID | None = None) -> set[UUID]:
        """Ids of the points of a run (or of everything), for reconciliation."""
        await self.ensure_collection()
        conditions = [
            _match(key, value) for key, value in (("tenant_id", tenant_id), ("run_id", run_id)) if value
        ]
        where = models.Filter(must=conditions) if conditions else None
        ids: set[UUID] = set()
        offset: Any = None
        while True:
            points, offset = await self._client.scroll(
                self.collection, scroll_filter=where, limit=_SCROLL_PAGE, offset=offset, with_payload=False
            )
            ids.update(UUID(str(point.id)) for point in points)
            if offset is None:
                return ids

    async def count(self, where: VectorFilter | None = None) -> int:
        await self.ensure_collection()
        answer = await self._client.count(
            self.collection, count_filter=where.to_qdrant() if where else None, exact=True
        )
        count: int = answer.count
        return count
