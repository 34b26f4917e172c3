"""The chunk vectors: the collection searches use, and during a reindex the one being built.

Which collection is live is recorded in Postgres (`vector_collections`, the pointer; on a
server an alias follows it too). Each collection knows its embedding model, so queries and new
chunks are embedded by the model of the collection they go to. While a reindex catches up,
writes go to both collections; deletions always do.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from qdrant_client import models

from services.extractor import store
from services.extractor.embeddings import EmbeddingBackend, model_slug, open_backend
from services.extractor.vectors.edge import EdgeVectorStore
from services.extractor.vectors.points import VectorFilter, VectorHit, VectorStore
from services.extractor.vectors.server import ServerVectorStore, server_client
from shared.config import Settings
from shared.uow import Database


class Engine(Protocol):
    """Opens collections of one kind: Qdrant Edge shards or a Qdrant server's collections."""

    def store(self, name: str, dimension: int) -> VectorStore: ...

    async def point_alias(self, name: str) -> None: ...

    async def close(self) -> None: ...


@dataclass
class EdgeEngine:
    directory: Path
    temporary: bool = False  # ':memory:' (tests): a directory removed on close

    def store(self, name: str, dimension: int) -> VectorStore:
        return EdgeVectorStore(self.directory, name, dimension)

    async def point_alias(self, name: str) -> None:
        """One process owns the shards, and it follows the recorded pointer."""

    async def close(self) -> None:
        if self.temporary:
            await asyncio.to_thread(shutil.rmtree, self.directory, ignore_errors=True)


@dataclass
class ServerEngine:
    client: Any
    alias: str

    def store(self, name: str, dimension: int) -> VectorStore:
        return ServerVectorStore(self.client, name, dimension)

    async def point_alias(self, name: str) -> None:
        """Switch the alias in one server-side operation, for whoever else reads it."""
        await self.client.update_collection_aliases(
            change_aliases_operations=[
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=name, alias_name=self.alias)
                )
            ]
        )

    async def close(self) -> None:
        await self.client.close()


def open_engine(settings: Settings) -> Engine:
    if settings.qdrant_url:
        return ServerEngine(
            server_client(settings.qdrant_url, settings.qdrant_api_key), f"{settings.schema_prefix}chunks"
        )
    if settings.qdrant_path == ":memory:":
        return EdgeEngine(Path(tempfile.mkdtemp(prefix="trawl-vectors-")), temporary=True)
    return EdgeEngine(Path(settings.qdrant_path or settings.home / "vectors"))


@dataclass
class Target:
    """A collection and the model its points are embedded with."""

    store: VectorStore
    embedder: EmbeddingBackend


def collection_name(settings: Settings, embedder: EmbeddingBackend, version: str = "") -> str:
    return f"{settings.schema_prefix}chunks_{model_slug(embedder)}{'_' + version if version else ''}"


async def open_embedder(settings: Settings, backend: str, model: str) -> EmbeddingBackend:
    return await open_backend(
        settings.model_copy(update={"embedding_backend": backend, "embedding_model": model})
    )


class VectorIndex:
    def __init__(self, engine: Engine, active: Target) -> None:
        self.engine = engine
        self.active = active
        self.building: Target | None = None
        self.mirroring = False  # writes go to `building` too (a reindex is catching up)
        self.switch_lock = asyncio.Lock()  # held while the pointer moves
        self.reindex_requested = asyncio.Event()  # wakes the reindexer

    @property
    def embedder(self) -> EmbeddingBackend:
        return self.active.embedder

    def writes(self) -> list[Target]:
        """Where new points go."""
        return [self.active, self.building] if self.building and self.mirroring else [self.active]

    def every(self) -> list[Target]:
        """Where deletions go: a collection being built must not keep what is gone."""
        return [self.active, self.building] if self.building else [self.active]

    async def ping(self) -> None:
        await self.active.store.ping()

    async def search(self, vector: list[float], where: VectorFilter, limit: int) -> list[VectorHit]:
        return await self.active.store.search(vector, where, limit)

    async def delete_ids(self, ids: Sequence[UUID]) -> None:
        for target in self.every():
            await target.store.delete_ids(ids)

    async def delete_run(self, tenant_id: UUID, run_id: UUID) -> None:
        for target in self.every():
            await target.store.delete_run(tenant_id, run_id)

    async def point_ids(self, tenant_id: UUID | None = None, run_id: UUID | None = None) -> set[UUID]:
        return await self.active.store.point_ids(tenant_id, run_id)

    async def count(self, where: VectorFilter | None = None) -> int:
        return await self.active.store.count(where)

    async def close(self) -> None:
        targets = [self.active, self.building] if self.building else [self.active]
        for target in targets:
            await target.store.close()
        if self.building and self.building.embedder is not self.active.embedder:
            await self.building.embedder.aclose()
        await self.active.embedder.aclose()
        await self.engine.close()


@contextlib.asynccontextmanager
async def open_vector_index(settings: Settings, db: Database) -> AsyncIterator[VectorIndex]:
    """The index on the active collection; on first start, the collection of the configured
    model becomes the active one."""
    engine = open_engine(settings)
    async with db.connection() as conn:
        row = await store.collection(conn, "active")
    if row is None:
        embedder = await open_backend(settings)
        async with db.connection() as conn:
            row = await store.register_collection(
                conn,
                name=collection_name(settings, embedder),
                model=embedder.model_name,
                backend=settings.embedding_backend,
                dimension=embedder.dimension,
                state="active",
            )
        if row["model"] != embedder.model_name:  # another replica registered first
            await embedder.aclose()
            embedder = await open_embedder(settings, row["backend"], row["model"])
    else:
        embedder = await open_embedder(settings, row["backend"], row["model"])
    index = VectorIndex(engine, Target(engine.store(row["name"], row["dimension"]), embedder))
    try:
        yield index
    finally:
        await index.close()
