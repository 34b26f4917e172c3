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
        default=None,
        description="why nothing was indexed: 'unchanged', 'no_text', 'not_text', or 'repeated' (the"
        " same page published again in its run: indexed once, answered each time)",
    )
    items_found: int = Field(
        default=0, ge=0, description="products and records the document yielded, each one ItemExtracted"
    )
    items_extracted: int = Field(
        default=0, ge=0, description="of those, the ones kept (a strictly validated invalid record is not)"
    )
    title: str | None = None
    document_type: str | None = None
    markdown_key: str | None = Field(
        default=None, description="the document's main text as Markdown in S3 (for exports and LLM tasks)"
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="title, author, date, language, ...")


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
    revises: bool = Field(
        default=False,
        description="the same item again, completed by an LLM: it replaces the earlier one (counted once)",
    )
    was_kept: bool | None = Field(default=None, description="a revised item's `kept` before the revision")


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
    request_id: UUID | None = Field(default=None, description="the LlmTaskRequested this answers, if any")
    kind: str | None = Field(default=None, description="query, schema_extraction or on_demand")
    document_id: UUID | None = None
    product_hash: str | None = None
    query_name: str | None = None
    cached: bool = Field(default=False, description="answered from the cache: no tokens spent")
    output: dict[str, Any] | None = Field(
        default=None, description="the output itself when small (a schema extraction's record)"
    )


class LlmTaskRequested(Event):
    """An LLM task is wanted: a schema extraction of a document the deterministic extractor
    left incomplete (from the extractor), a task a user asked for (through the extractor,
    over a run's documents, items or search hits), or the expansions of a keyword job's
    keywords (from the crawler).

    The llm service answers each with one LlmTaskCompleted (same `request_id`) or, when it
    fails for good, a TaskFailed whose ids carry the `request_id`."""

    event_name = "llm-task-requested"
    job_id: UUID | None = None
    run_id: UUID
    request_id: UUID = Field(description="idempotency: the same request is one task")
    kind: Literal["schema_extraction", "on_demand", "keyword_expansion"]
    requested_by: str
    session_id: UUID | None = Field(default=None, description="default: the run's session")
    document_id: UUID | None = None
    input_s3_key: str = Field(
        description="the input text (a document's Markdown) in S3; empty when `input` carries it"
    )
    input_content_hash: str = Field(description="the stored input's hash; empty with `input`")
    input: dict[str, Any] | None = Field(
        default=None,
        description="the input itself, when small and not stored: an item's data, a search hit, "
        "a keyword job's keywords",
    )
    prompt: str | None = Field(default=None, max_length=20_000)
    output_schema: dict[str, Any] = Field(description="JSON Schema of the output")
    partial: dict[str, Any] = Field(
        default_factory=dict, description="fields already filled deterministically, kept unless empty"
    )
    missing: list[str] = Field(default_factory=list, description="the required fields still empty")
