"""Request and response bodies of the public API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.ingest.domain.access import Role, Scope
from services.ingest.domain.submissions import unstorable_text
from shared.events import JobKind, KeywordExpansion, Limits, LlmQuery, Pagination, RunExport, ValidationRules
from shared.events import Scope as CrawlScope
from shared.events.config import MAX_EXPANSIONS_PER_KEYWORD
from shared.search_api import SearchQuery


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if problems := unstorable_text(data):
            raise ValueError("; ".join(problems))
        return data


class Me(BaseModel):
    tenant_id: UUID
    tenant_name: str
    user_id: UUID
    role: Role
    key_id: UUID
    scopes: list[str]


class TenantLimits(Body):
    quota_pages_monthly: int | None = Field(default=None, ge=0, le=10**12)
    max_active_runs: int | None = Field(default=None, ge=1, le=100_000)


class TenantOut(BaseModel):
    id: UUID
    name: str
    quota_pages_monthly: int
    max_active_runs: int
    created_at: datetime


class UsageOut(BaseModel):
    period: str = Field(description="the month counted, YYYY-MM")
    pages_fetched: int
    tokens: int
    credits_charged: float = Field(description="this month's pages and tokens, at the configured rates")
    quota_pages_monthly: int
    active_runs: int
    max_active_runs: int


class UserIn(Body):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Role = Role.MEMBER


class UserOut(BaseModel):
    id: UUID
    email: str
    role: Role
    created_at: datetime


class KeyIn(Body):
    name: str = Field(default="", max_length=200)
    user_id: UUID | None = Field(default=None, description="admins may create keys for other users")
    scopes: list[Scope] = Field(default_factory=list, description="empty: everything the user's role allows")
    expires_at: AwareDatetime | None = Field(default=None, description="in the future, with a time zone")

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, expires_at: datetime | None) -> datetime | None:
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise ValueError(f"{expires_at.isoformat()} has passed; a new key must expire in the future")
        return expires_at


class KeyOut(BaseModel):
    id: UUID
    user_id: UUID
    name: str
    prefix: str = Field(description="the start of the key, to tell keys apart")
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class CreatedKey(KeyOut):
    key: str = Field(description="the key itself; shown this once, never again")


class ProjectIn(Body):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)


class ProjectOut(BaseModel):
    id: UUID
    name: str
    description: str
    status: str = Field(description="active or archived (no new jobs)")
    created_at: datetime
    updated_at: datetime


class ProjectChange(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    status: Literal["active", "archived"] | None = None


class ActivityOut(BaseModel):
    at: datetime
    source: str = Field(description="user (a call to the API) or system (what happened to a run)")
    kind: str = Field(
        description="the call (POST /v1/jobs) or the event (run.completed, validation.completed)"
    )
    resource: str
    actor: str | None = Field(description="the API key that made the call")
    detail: dict[str, Any]


class ValidationIn(Body):
    name: str = Field(default="", max_length=200)
    rules: ValidationRules = Field(default_factory=ValidationRules)


class ValidationOut(BaseModel):
    id: UUID
    run_id: UUID
    name: str
    rules: dict[str, Any]
    status: str = Field(description="pending, running, completed or failed")
    progress: int = Field(description="percent of the images judged")
    total: int = Field(description="the run's images when the job was asked for")
    validated: int = Field(description="images judged so far")
    invalid: int
    valid: int
    reasons: dict[str, int] = Field(description="invalid images by reason")
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> ValidationOut:
        total, validated = row["total"], row["validated"]
        done = row["status"] == "completed" or total == 0
        progress = 100 if done else min(100, validated * 100 // max(total, 1))
        return cls.model_validate({**row, "progress": progress, "valid": validated - row["invalid"]})


class ImageOut(BaseModel):
    image_key: str
    url: str
    page_url: str | None
    alt_text: str | None
    label: str | None
    width: int | None
    height: int | None
    format: str | None
    bytes: int
    sha256: str | None
    phash: str | None
    exif_orientation: int | None
    decode_error: str | None
    provenance: dict[str, Any] | None
    fetched_at: datetime
    valid: bool | None
    reasons: list[str]
    duplicate_of: str | None
    file_url: str = Field(description="a presigned link to the image, valid for an hour")
    thumbnail_url: str | None = Field(description="a presigned link to its thumbnail (JPEG, 256 px)")


class ImagesOut(BaseModel):
    images: list[ImageOut]
    next_cursor: str | None
    validation_id: UUID | None = Field(description="the validation whose verdicts these are (the latest)")
    validation_status: str | None
    reasons: dict[str, int] = Field(description="that validation's invalid images by reason")


class ExtractorSchemaIn(Body):
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(default="1.0", min_length=1, max_length=50)
    definition: dict[str, Any] = Field(description="a JSON Schema (draft 2020-12) of one extracted record")
    strict_validation: bool = False
    allow_extra_fields: bool = True
    is_public: bool = Field(default=False, description="other tenants may read and use it")


class ExtractorSchemaOut(BaseModel):
    id: UUID
    name: str
    version: str
    definition: dict[str, Any]
    strict_validation: bool
    allow_extra_fields: bool
    is_public: bool
    owned: bool = Field(description="false for another tenant's public schema (read-only)")
    created_at: datetime


class JobIn(Body):
    """A crawl/scrape job. Seeds or keywords are required; everything else has defaults."""

    name: str = Field(default="", max_length=300)
    kind: JobKind = JobKind.CRAWL
    project_id: UUID | None = None
    seeds: list[str] = Field(default_factory=list, max_length=10_000, description="http(s) URLs")
    keywords: list[str] = Field(default_factory=list, max_length=1_000)
    brand_name: str | None = Field(default=None, max_length=300)
    expanded_keywords: dict[str, list[str]] | None = Field(
        default=None,
        description="per keyword, phrases searched besides it, replacing the LLM's expansions; none: "
        "the llm service makes them when one is configured ({} or expansions_per_keyword 0: none)",
    )
    expansions_per_keyword: int = Field(
        default=3, ge=0, le=MAX_EXPANSIONS_PER_KEYWORD, description="LLM expansions of a keyword at most"
    )
    scope: CrawlScope = Field(default_factory=CrawlScope)
    limits: Limits = Field(default_factory=Limits)
    pagination: Pagination = Field(default_factory=Pagination)
    extractor_schema_id: UUID | None = None
    llm_queries: list[LlmQuery] = Field(default_factory=list, max_length=100)
    schedule_cron: str | None = Field(default=None, max_length=200, examples=["0 6 * * 1-5"])
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Berlin"])
    user_agent: str | None = Field(default=None, max_length=500)
    options: dict[str, Any] = Field(default_factory=dict)
    exports: list[RunExport] = Field(
        default_factory=list,
        max_length=20,
        description="exports made of each run when it completes (dataset, format, options,"
        " link_ttl_seconds): a scheduled job delivers a file per run",
    )


class ExpandedKeywordsIn(Body):
    expanded_keywords: dict[str, list[str]] | None = Field(
        description="per keyword of the job, the phrases searched besides it; {}: none; null: the LLM's"
    )


class JobOut(BaseModel):
    id: UUID
    name: str
    kind: str
    project_id: UUID | None
    extractor_schema_id: UUID | None
    schedule_cron: str | None
    timezone: str | None
    next_fire_at: datetime | None
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RunStart(Body):
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=200, description="or the Idempotency-Key header"
    )


class Progress(BaseModel):
    pages_fetched: int = Field(description="as the crawler last reported, or as announced if further")
    pages_failed: int
    pages_total: int = Field(description="the crawler's known frontier")
    pages_published: int | None = Field(description="set when the crawler has finished")
    documents_indexed: int
    documents_expected: int | None = Field(description="of an upload run")
    chunks_indexed: int
    items_found: int = Field(description="products and schema records found")
    items_extracted: int = Field(description="of those, kept (strict validation keeps invalid records out)")
    llm_tasks_done: int
    tokens: int
    credits_charged: float = Field(
        description="pages fetched and LLM tokens, at TRAWL_CREDITS_PER_PAGE and _PER_THOUSAND_TOKENS"
    )
    errors: int
    extractor_outcomes: int
    refusals: dict[str, int] = Field(
        description="URLs not fetched, or fetched and not stored, by reason (robots, http_404, too_large, "
        "ssrf, duplicate, ...); GET /v1/runs/{id}/pages lists them"
    )


class RunOut(BaseModel):
    id: UUID
    job_id: UUID | None
    job_name: str | None
    kind: str
    trigger: str
    status: str
    idempotency_key: str | None
    scheduled_for: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: Progress
    keyword_expansion: KeywordExpansion | None = Field(
        default=None,
        description="a keyword job's expansions in this run: their state, why, and the phrases searched "
        "per keyword (GET /v1/runs/{id}/searches lists each search)",
    )


class UploadOut(BaseModel):
    run: RunOut
    documents: list[UploadedDocument]


class UploadedDocument(BaseModel):
    document_id: UUID
    filename: str
    content_type: str
    size: int
    s3_key: str


class SearchIn(Body, SearchQuery):
    pass


class SubmissionOut(BaseModel):
    submission_id: UUID
    status: str = Field(description="accepted or rejected")
    run_id: UUID | None = Field(description="the run an accepted submission started (or found)")
    reasons: list[str] = Field(description="what to fix, for a rejected one")


class AuditOut(BaseModel):
    id: int
    actor: str
    action: str
    resource: str
    status: int
    request_id: str
    ip: str | None
    user_agent: str | None
    at: datetime


UploadOut.model_rebuild()
