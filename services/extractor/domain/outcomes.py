"""The one outcome event every document taken in owes: ChunkIndexed (or TaskFailed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shared.events import ChunkIndexed


@dataclass(frozen=True)
class DocumentRef:
    """Which document of which run an outcome is about."""

    tenant_id: UUID
    job_id: UUID | None
    run_id: UUID
    document_id: UUID
    url: str | None
    url_hash: str | None


def chunk_indexed(
    document: DocumentRef,
    *,
    chunk_count: int,
    embedding_model: str,
    indexed_at: datetime,
    skipped: str | None = None,
) -> ChunkIndexed:
    """Its chunks are searchable (or, with `skipped`, why there was nothing to index)."""
    return ChunkIndexed(
        tenant_id=document.tenant_id,
        job_id=document.job_id,
        run_id=document.run_id,
        document_id=document.document_id,
        url=document.url,
        chunk_count=chunk_count,
        embedding_model=embedding_model,
        indexed_at=indexed_at,
        url_hash=document.url_hash,
        skipped=skipped,
    )
