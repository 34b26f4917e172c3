"""What a run finds: pages and uploads stored, chunks indexed, items extracted, LLM outputs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from shared.events.base import Event


class PageFetched(Event):
    """A page or file is stored in S3 (raw bytes under a content-addressed key)."""

    event_name = "page-fetched"
    job_id: UUID
    run_id: UUID
    url: str
    final_url: str
    url_hash: str = Field(description="sha256 of the canonical URL")
    status: int
    content_type: str
    content_hash: str
    s3_key: str
    size: int = Field(ge=0)
    depth: int = Field(ge=0)
    fetched_at: datetime
    unchanged: bool = False

    key_doc = "canonical URL hash, so one big run spreads over partitions"

    def partition_key(self) -> str:
        return self.url_hash


class DocumentUploaded(Event):
    """A user upload or API document is stored in S3 (source_type 'upload' or 'api')."""

    event_name = "document-uploaded"
    job_id: UUID | None = None
    run_id: UUID
    document_id: UUID
    filename: str
    content_type: str
    content_hash: str
    s3_key: str
    size: int = Field(ge=0)
    source_type: Literal["upload", "api"] = "upload"
    uploaded_at: datetime


class ChunkIndexed(Event):
    """Chunks of one document are in Postgres AND in Qdrant.

    The extractor answers every PageFetched and DocumentUploaded it takes with exactly one
    ChunkIndexed (chunk_count 0 and a `skipped` reason when there was nothing new to index)
    or one TaskFailed, so progress can tell when every fetched page has been through it."""

    event_name = "chunk-indexed"
    job_id: UUID | None = None
    run_id: UUID
    document_id: UUID
    url: str | None = None
    chunk_count: int = Field(ge=0)
    embedding_model: str
    indexed_at: datetime
    url_hash: str | None = Field(default=None, description="the PageFetched's url_hash, for crawled pages")
    skipped: str | None = Field(
        default=None, description="why nothing was indexed: 'unchanged', 'no_text', 'not_text'"
    )
    items_found: int = Field(
        default=0, ge=0, description="products and records the document yielded, each one ItemExtracted"
    )
    items_extracted: int = Field(
        default=0, ge=0, description="of those, the ones kept (a strictly validated invalid record is not)"
    )


class ItemKind(StrEnum):
    PRODUCT = "product"
    SCHEMA_RESULT = "schema_result"


class ItemExtracted(Event):
    """A product or schema-defined record extracted from a page.

    One per product and per record of each run: a page unchanged since an earlier run of the
    job announces its items again, with `changed` false."""

    event_name = "item-extracted"
    job_id: UUID | None = None
    run_id: UUID
    item_id: UUID
    kind: ItemKind
    data: dict[str, Any]
    content_hash: str
    confidence: float | None = Field(default=None, ge=0, le=1)
    source_url: str | None = None
    brand_name: str | None = None
    document_id: UUID | None = None
    product_hash: str | None = Field(default=None, description="a product's identity in its tenant")
    changed: bool | None = Field(
        default=None,
        description="a product's price or availability (or a record's data) differs from last time",
    )
    valid: bool | None = Field(default=None, description="a record's validity against its extractor schema")
    kept: bool = Field(
        default=True,
        description="false for a record strict validation kept out of the results (its errors say why)",
    )
    errors: list[dict[str, str]] = Field(
        default_factory=list, description="a record's validation errors: {path, message}"
    )


class LlmTaskCompleted(Event):
    """An LLM task finished; its output is stored at s3_output_path."""

    event_name = "llm-task-completed"
    job_id: UUID | None = None
    run_id: UUID
    task_id: UUID
    session_id: UUID | None = None
    model: str
    s3_output_path: str
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    completed_at: datetime
