"""Version 1 of every core event (DESIGN.md §3) as pydantic models.

Each model is the JSON payload of one Kafka message; the CloudEvents envelope travels in
the headers (see `shared.envelope`). `schemas/events/<Type>.v1.json` is generated from
these classes and checked in CI, so a change here that breaks an existing contract fails
the build: add optional fields, never remove, rename or retype — that needs a v2 model.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

SERVICES = ("ingest", "crawler", "extractor", "llm", "exporter")


class Contract(BaseModel):
    """A value that travels inside events: strict about types, lenient about unknown fields
    (a newer producer may add optional fields an older consumer does not know yet)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Event(Contract):
    """Base of every event payload."""

    event_name: ClassVar[str]  # kebab-case, part of the topic and of ce_type
    version: ClassVar[int] = 1
    key_doc: ClassVar[str] = "run id (tenant id for events without a run)"

    tenant_id: UUID

    @classmethod
    def type_name(cls) -> str:
        return f"trawl.{cls.event_name}.v{cls.version}"

    def partition_key(self) -> str:
        """The aggregate whose order matters; run id where there is one."""
        run_id = getattr(self, "run_id", None)
        return str(run_id if run_id is not None else self.tenant_id)

    def subject(self) -> str | None:
        run_id = getattr(self, "run_id", None)
        return None if run_id is None else str(run_id)


# --- job configuration (what a JobSubmitted asks for and a JobCreated carries) ---------------


class JobKind(StrEnum):
    CRAWL = "crawl"  # follow links from seeds (seed 003 crawl_jobs)
    SCRAPE = "scrape"  # seeds + pagination + schema extraction (seed 001 scraping_jobs)
    IMAGES = "images"  # image dataset crawl (seed 004 crawl_jobs/images)
    KEYWORDS = "keywords"  # keyword/brand discovery (seeds 000 scrapejobs, 002 keywords)


class PaginationType(StrEnum):
    NONE = "none"
    NEXT_BUTTON = "next_button"
    URL_PATTERN = "url_pattern"


class Pagination(Contract):
    type: PaginationType = PaginationType.NONE
    next_selector: str | None = Field(
        default=None, max_length=500, description="CSS selector of the next link"
    )
    url_template: str | None = Field(
        default=None, max_length=2048, description="URL with a {page} placeholder"
    )
    start_page: int = Field(default=1, ge=0)
    max_page: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _fits_type(self) -> Pagination:
        if self.type is PaginationType.NEXT_BUTTON and not self.next_selector:
            raise ValueError("pagination type 'next_button' needs next_selector")
        if self.type is PaginationType.URL_PATTERN and (
            not self.url_template or "{page}" not in self.url_template
        ):
            raise ValueError("pagination type 'url_pattern' needs url_template containing '{page}'")
        return self


class Scope(Contract):
    same_registered_domain: bool = True
    allowed_domains: list[str] = Field(default_factory=list, max_length=100)
    include_patterns: list[str] = Field(default_factory=list, max_length=100, description="regexes")
    exclude_patterns: list[str] = Field(default_factory=list, max_length=100, description="regexes")
    follow_nofollow: bool = False
    respect_robots: bool = True

    @field_validator("include_patterns", "exclude_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
        return patterns


class Limits(Contract):
    max_pages: int = Field(default=100, ge=1, le=10_000_000)
    max_depth: int = Field(default=3, ge=0, le=100)
    max_images: int | None = Field(default=None, ge=1)
    min_image_width: int | None = Field(default=None, ge=1)
    min_image_height: int | None = Field(default=None, ge=1)
    image_formats: list[str] = Field(default_factory=list, max_length=20)
    max_body_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    request_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    max_retries: int = Field(default=3, ge=0, le=20)
    per_host_concurrency: int = Field(default=2, ge=1, le=64)
    min_delay_seconds: float = Field(default=0.0, ge=0)


class ExtractorSchemaRef(Contract):
    """The schema-defined extraction a job asks for (seed 001 extractor_schemas)."""

    schema_id: UUID
    version: str = "1.0"
    definition: dict[str, Any] = Field(description="JSON Schema of one extracted record")
    strict_validation: bool = False
    allow_extra_fields: bool = True


class Schedule(Contract):
    cron: str = Field(min_length=9, max_length=200)
    timezone: str = Field(default="UTC", max_length=64)


class LlmQuery(Contract):
    """An LLM task to run over what the job finds (seed 000 queries)."""

    name: str = Field(min_length=1, max_length=200)
    prompt: str = Field(min_length=1, max_length=20_000)
    output_schema: dict[str, Any] | None = None


class JobConfig(Contract):
    kind: JobKind = JobKind.CRAWL
    name: str = Field(default="", max_length=300)
    project_id: UUID | None = None
    seeds: list[AnyHttpUrl] = Field(default_factory=list, max_length=10_000)
    keywords: list[str] = Field(default_factory=list, max_length=1_000)
    brand_name: str | None = Field(default=None, max_length=300)
    scope: Scope = Field(default_factory=Scope)
    limits: Limits = Field(default_factory=Limits)
    pagination: Pagination = Field(default_factory=Pagination)
    extractor_schema: ExtractorSchemaRef | None = None
    llm_queries: list[LlmQuery] = Field(default_factory=list, max_length=100)
    schedule: Schedule | None = None
    user_agent: str | None = Field(default=None, max_length=500)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_a_start(self) -> JobConfig:
        if not self.seeds and not self.keywords:
            raise ValueError("a job needs at least one seed URL or one keyword")
        if self.kind is JobKind.KEYWORDS and not self.keywords:
            raise ValueError("a keywords job needs keywords")
        return self


# --- the events ----------------------------------------------------------------------------


class JobSubmitted(Event):
    """A request to crawl/ingest from an external producer or the CLI; may be invalid."""

    event_name = "job-submitted"
    submission_id: UUID
    job_id: UUID | None = Field(default=None, description="set to start a new run of an existing job")
    idempotency_key: str | None = Field(default=None, max_length=200)
    config: dict[str, Any] = Field(
        description="a JobConfig, validated by ingest (not here) so bad ones get reasons"
    )
    submitted_by: str | None = Field(default=None, max_length=200)

    key_doc = "submission id"

    def partition_key(self) -> str:
        return str(self.submission_id)


class JobRejected(Event):
    """A submission failed validation or quota; the reasons say what to fix."""

    event_name = "job-rejected"
    submission_id: UUID
    reasons: list[str]

    key_doc = "submission id"

    def partition_key(self) -> str:
        return str(self.submission_id)


class JobCreated(Event):
    """A run starts: the full job configuration every service needs."""

    event_name = "job-created"
    job_id: UUID
    run_id: UUID
    submission_id: UUID | None = None
    config: JobConfig
    created_at: datetime


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


class CrawlProgress(Event):
    """The crawler's throttled progress report of a run (at most one every few seconds)."""

    event_name = "crawl-progress"
    job_id: UUID
    run_id: UUID
    pages_crawled: int = Field(ge=0, description="pages fetched and stored (PageFetched published)")
    pages_failed: int = Field(ge=0)
    pages_skipped: int = Field(ge=0, description="robots-denied, out of scope, refused content")
    pages_total: int = Field(ge=0, description="the known frontier")
    current_depth: int = Field(ge=0)
    in_flight: int = Field(ge=0)
    reported_at: datetime


class ItemKind(StrEnum):
    PRODUCT = "product"
    SCHEMA_RESULT = "schema_result"


class ItemExtracted(Event):
    """A product or schema-defined record extracted from a page."""

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


class TaskFailed(Event):
    """A unit of work failed for good after its retries."""

    event_name = "task-failed"
    service: str
    task_kind: str = Field(description="what failed, e.g. the consumed event type or 'fetch'")
    job_id: UUID | None = None
    run_id: UUID | None = None
    ids: dict[str, str] = Field(
        default_factory=dict, description="ids of what failed (event id, url hash, ...)"
    )
    error: str
    attempts: int = Field(ge=0)
    failed_at: datetime


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunCompleted(Event):
    """One service's part of a run is done (ingest completes the run when all parts are).

    The crawler's counters include `pages_published`: how many PageFetched it sent for the
    run, i.e. how many extractor outcomes (ChunkIndexed or TaskFailed) to wait for."""

    event_name = "run-completed"
    job_id: UUID
    run_id: UUID
    service: str = Field(description="whose part of the run completed")
    status: RunStatus
    counters: dict[str, int] = Field(default_factory=dict)
    completed_at: datetime


class RunCancelled(Event):
    """A run was cancelled: stop starting new work for it."""

    event_name = "run-cancelled"
    job_id: UUID | None = None
    run_id: UUID
    reason: str | None = None
    cancelled_at: datetime


class RunDeleted(Event):
    """A run was deleted: every service removes its rows, points and objects."""

    event_name = "run-deleted"
    job_id: UUID | None = None
    run_id: UUID
    deleted_at: datetime


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    JSON = "json"
    XLSX = "xlsx"
    PARQUET = "parquet"
    IMAGES_ZIP = "images_zip"


class ExportRequested(Event):
    """A dataset export of a run was asked for."""

    event_name = "export-requested"
    export_id: UUID
    run_id: UUID
    format: ExportFormat
    link_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    requested_at: datetime


class ExportCompleted(Event):
    """An export finished (or failed); the file is in S3 behind an expiring link."""

    event_name = "export-completed"
    export_id: UUID
    run_id: UUID
    format: ExportFormat
    status: Literal["completed", "failed"]
    rows: int = Field(default=0, ge=0)
    file_size: int = Field(default=0, ge=0)
    s3_key: str | None = None
    error_message: str | None = None
    completed_at: datetime


EVENT_TYPES: tuple[type[Event], ...] = (
    JobSubmitted,
    JobRejected,
    JobCreated,
    PageFetched,
    DocumentUploaded,
    ChunkIndexed,
    CrawlProgress,
    ItemExtracted,
    LlmTaskCompleted,
    TaskFailed,
    RunCompleted,
    RunCancelled,
    RunDeleted,
    ExportRequested,
    ExportCompleted,
)

EVENTS_BY_TYPE: dict[str, type[Event]] = {event.type_name(): event for event in EVENT_TYPES}
