"""The one outcome event every document taken in owes: ChunkIndexed (or TaskFailed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
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


@dataclass(frozen=True)
class DocumentSummary:
    """What the outcome tells of the document itself, for exports and LLM tasks."""

    title: str | None = None
    document_type: str | None = None
    markdown_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    items_found: int = 0
    items_extracted: int = 0


def chunk_indexed(
    document: DocumentRef,
    *,
    chunk_count: int,
    embedding_model: str,
    indexed_at: datetime,
    skipped: str | None = None,
    summary: DocumentSummary | None = None,
) -> ChunkIndexed:
    """Its chunks are searchable (or, with `skipped`, why there was nothing to index)."""
    summary = summary or DocumentSummary()
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
        title=summary.title,
        document_type=summary.document_type,
        markdown_key=summary.markdown_key,
        metadata=summary.metadata,
        items_found=summary.items_found,
        items_extracted=summary.items_extracted,
    )
