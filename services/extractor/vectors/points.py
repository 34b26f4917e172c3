"""What the vector store holds and answers, independent of the engine behind it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

TEXT_PREFIX_CHARS = 500
# Payload fields with a keyword index: every search filters on the tenant, and on these.
INDEXED_FIELDS = ("tenant_id", "job_id", "run_id", "document_id", "document_type")


class VectorStoreDown(RuntimeError):
    """The store did not answer; the caller's work stays pending and is retried."""


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
    """Points of one tenant, narrowed to a job, run or document type when given."""

    tenant_id: UUID
    job_id: UUID | None = None
    run_id: UUID | None = None
    document_type: str | None = None

    def matches(self) -> list[tuple[str, str]]:
        """(payload key, exact value) pairs, all of which must hold."""
        pairs = [("tenant_id", str(self.tenant_id))]
        for key, value in (
            ("job_id", self.job_id),
            ("run_id", self.run_id),
            ("document_type", self.document_type),
        ):
            if value is not None:
                pairs.append((key, str(value)))
        return pairs


def scope(tenant_id: UUID | None, run_id: UUID | None) -> list[tuple[str, str]]:
    """Matches for reconciliation, where the tenant may be unknown (everything)."""
    return [(key, str(value)) for key, value in (("tenant_id", tenant_id), ("run_id", run_id)) if value]


@dataclass(frozen=True)
class VectorHit:
    chunk_id: UUID
    score: float
    url: str | None


class VectorStore(Protocol):
    """One collection of chunk points. Point id = chunk id, so upserts are idempotent; every
    write has returned only once it is durable (it survives the process being killed)."""

    name: str
    dimension: int

    async def ping(self) -> None: ...

    async def upsert(self, points: Sequence[ChunkPoint]) -> None: ...

    async def search(self, vector: list[float], where: VectorFilter, limit: int) -> list[VectorHit]: ...

    async def delete_ids(self, ids: Sequence[UUID]) -> None: ...

    async def delete_run(self, tenant_id: UUID, run_id: UUID) -> None: ...

    async def vectors(self, ids: Sequence[UUID]) -> dict[UUID, list[float]]:
        """The stored vectors of those of `ids` that have a point."""

    async def point_ids(self, tenant_id: UUID | None = None, run_id: UUID | None = None) -> set[UUID]: ...

    async def count(self, where: VectorFilter | None = None) -> int: ...

    async def unindexed(self) -> int:
        """Points searched by brute force until the index is built (a reindex builds it)."""

    async def build_index(self) -> None:
        """Build the search index (HNSW) over what is stored; searches of other collections
        keep answering meanwhile."""

    async def drop(self) -> None:
        """Remove the collection and everything in it."""

    async def close(self) -> None: ...
