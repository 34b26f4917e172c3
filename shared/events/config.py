"""A job's configuration: what a JobSubmitted asks for and a JobCreated carries."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import AnyHttpUrl, Field, field_validator, model_validator

from shared.events.base import Contract
from shared.events.exports import RunExport

LLM_EXTRACTION_MODES = ("off", "missing", "always")
MAX_EXPANSIONS_PER_KEYWORD = 10


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
    llm_max_tokens: int | None = Field(
        default=None, ge=1, description="tokens the job's LLM tasks may spend, all runs; over it a task fails"
    )
    llm_max_cost_usd: float | None = Field(
        default=None,
        ge=0,
        description="what the job's LLM tasks may cost, all runs (at the configured prices)",
    )


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
    expanded_keywords: dict[str, list[str]] | None = Field(
        default=None,
        description="per keyword, expansions searched besides it, replacing the LLM's; none: the llm "
        "service makes them when one is configured",
    )
    expansions_per_keyword: int = Field(
        default=3, ge=0, le=MAX_EXPANSIONS_PER_KEYWORD, description="LLM expansions at most; 0: none"
    )
    scope: Scope = Field(default_factory=Scope)
    limits: Limits = Field(default_factory=Limits)
    pagination: Pagination = Field(default_factory=Pagination)
    extractor_schema: ExtractorSchemaRef | None = None
    llm_queries: list[LlmQuery] = Field(default_factory=list, max_length=100)
    schedule: Schedule | None = None
    user_agent: str | None = Field(default=None, max_length=500)
    options: dict[str, Any] = Field(default_factory=dict)
    exports: list[RunExport] = Field(
        default_factory=list, max_length=20, description="exports made of each run when it completes"
    )

    @model_validator(mode="before")
    @classmethod
    def _results_are_the_pages(cls, raw: Any) -> Any:
        """A keywords job fetches the pages its searches found, not their links, unless its
        `limits.max_depth` says how far from each result to go."""
        if isinstance(raw, dict) and raw.get("kind") == JobKind.KEYWORDS.value:
            limits = raw.get("limits")
            if limits is None or (isinstance(limits, dict) and "max_depth" not in limits):
                return {**raw, "limits": {**(limits or {}), "max_depth": 0}}
        return raw

    @model_validator(mode="after")
    def _has_a_start(self) -> JobConfig:
        if not self.seeds and not self.keywords:
            raise ValueError("a job needs at least one seed URL or one keyword")
        if self.kind is JobKind.KEYWORDS and not self.keywords:
            raise ValueError("a keywords job needs keywords")
        return self

    @model_validator(mode="after")
    def _expansions_of_keywords(self) -> JobConfig:
        for keyword, expansions in (self.expanded_keywords or {}).items():
            if keyword not in self.keywords:
                raise ValueError(f"expanded_keywords: {keyword[:300]!r} is not one of the job's keywords")
            if len(expansions) > MAX_EXPANSIONS_PER_KEYWORD or any(
                not 0 < len(expansion.strip()) <= 300 for expansion in expansions
            ):
                raise ValueError(
                    f"expanded_keywords[{keyword[:300]!r}]: at most {MAX_EXPANSIONS_PER_KEYWORD} phrases "
                    "of 1 to 300 characters"
                )
        return self

    @model_validator(mode="after")
    def _schema_url_patterns_compile(self) -> JobConfig:
        patterns = self.options.get("schema_url_patterns", [])
        if not isinstance(patterns, list) or not all(isinstance(pattern, str) for pattern in patterns):
            raise ValueError("options.schema_url_patterns: a list of regexes")
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"options.schema_url_patterns: invalid regex {pattern!r}: {exc}") from exc
        return self

    @model_validator(mode="after")
    def _llm_extraction_known(self) -> JobConfig:
        if self.options.get("llm_extraction", "off") not in LLM_EXTRACTION_MODES:
            raise ValueError(f"options.llm_extraction: one of {', '.join(LLM_EXTRACTION_MODES)}")
        return self

    @property
    def llm_extraction(self) -> str:
        """`options.llm_extraction`: whether a schema job's records are completed by the llm
        service — "off" (the default), "missing" (when required fields are left empty) or
        "always"."""
        mode: str = self.options.get("llm_extraction", "off")
        return mode

    @property
    def schema_url_patterns(self) -> list[str]:
        """`options.schema_url_patterns`: regexes (searched in the URL) narrowing the pages of a
        schema job that yield a record; none means every page in the job's scope."""
        patterns: list[str] = self.options.get("schema_url_patterns", [])
        return patterns
