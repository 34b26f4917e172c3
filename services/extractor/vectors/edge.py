"""Qdrant Edge (`qdrant-edge-py`), the embedded engine: one shard directory per collection.

The binding holds the GIL while it queries and while it builds an index (minutes at 100k
points: see shared notes `qdrant-edge.md`), so each shard lives in a host process of its own
and the service's event loop only waits on a pipe. A collection being built (`trawl reindex`)
has its own host, so building its index never stalls searches of the live one. Calls to one
shard run one at a time, in order, which is what its single-writer WAL wants anyway.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from services.extractor.vectors import edge_shard
from services.extractor.vectors.points import ChunkPoint, VectorFilter, VectorHit, VectorStoreDown, scope

T = TypeVar("T")


class EdgeVectorStore:
    def __init__(self, directory: Path, name: str, dimension: int) -> None:
        self.name = name
        self.dimension = dimension
        self.path = directory / name
        self._host: ProcessPoolExecutor | None = None

    def _start_host(self) -> ProcessPoolExecutor:
        # spawn, not fork: the service has threads (and an event loop) a fork would copy mid-step.
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=edge_shard.open_shard,
            initargs=(str(self.path), self.dimension, os.getpid()),
        )

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self._host is None:
            self._host = self._start_host()
        host = self._host
        try:
            return await asyncio.get_running_loop().run_in_executor(host, functools.partial(function, *args))
        except BrokenProcessPool as exc:
            # The host died (killed, or out of memory): the next call starts a new one, which
            # reloads the shard from its WAL. This call's work is the caller's to retry.
            if self._host is host:
                self._host = None
                host.shutdown(wait=False, cancel_futures=True)
            raise VectorStoreDown(f"the vector store host of {self.name} died: {exc}") from exc

    async def host_pid(self) -> int:
        """The host process's id (for the operator, and for tests that kill it)."""
        return await self._call(edge_shard.host_pid)

    async def ping(self) -> None:
        await self._call(edge_shard.ping)

    async def upsert(self, points: Sequence[ChunkPoint]) -> None:
        if points:
            await self._call(
                edge_shard.upsert, [(str(point.chunk_id), point.vector, point.payload()) for point in points]
            )

    async def search(self, vector: list[float], where: VectorFilter, limit: int) -> list[VectorHit]:
        found = await self._call(edge_shard.query, vector, where.matches(), limit)
        return [VectorHit(UUID(point_id), score, url) for point_id, score, url in found]

    async def delete_ids(self, ids: Sequence[UUID]) -> None:
        if ids:
            await self._call(edge_shard.delete_ids, [str(i) for i in ids])

    async def delete_run(self, tenant_id: UUID, run_id: UUID) -> None:
        await self._call(edge_shard.delete_where, scope(tenant_id, run_id))

    async def vectors(self, ids: Sequence[UUID]) -> dict[UUID, list[float]]:
        found = await self._call(edge_shard.vectors, [str(i) for i in ids]) if ids else {}
        return {UUID(point_id): vector for point_id, vector in found.items()}

    async def point_ids(self, tenant_id: UUID | None = None, run_id: UUID | None = None) -> set[UUID]:
        return {
            UUID(point_id) for point_id in await self._call(edge_shard.point_ids, scope(tenant_id, run_id))
        }

    async def count(self, where: VectorFilter | None = None) -> int:
        return await self._call(edge_shard.count, where.matches() if where else [])

    async def unindexed(self) -> int:
        return await self._call(edge_shard.unindexed)

    async def build_index(self) -> None:
        await self._call(edge_shard.build_index)

    async def close(self) -> None:
        host, self._host = self._host, None
        if host is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(host, edge_shard.close_shard)
        except BrokenProcessPool:
            pass
        finally:
            await asyncio.to_thread(host.shutdown, wait=True)

    async def drop(self) -> None:
        await self.close()
        await asyncio.to_thread(shutil.rmtree, self.path, ignore_errors=True)
