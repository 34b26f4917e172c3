"""The contract of the extractor's internal search endpoint.

Ingest's public `/v1/search` authenticates, rate-limits and audits, then calls this endpoint
with the caller's tenant id and the shared internal token; the extractor, which owns chunks
and the vector index, computes the hits. Both sides import these models.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

INTERNAL_SEARCH_PATH = "/internal/v1/search"


class SearchMode(StrEnum):
    HYBRID = "hybrid"
    VECTOR = "vector"
    KEYWORD = "keyword"


class SearchQuery(BaseModel):
    """What a caller asks for; the public API takes this, the tenant comes from the API key."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=1000)
    mode: SearchMode = SearchMode.HYBRID
    limit: int = Field(default=10, ge=1, le=100)
    job_id: UUID | None = None
    run_id: UUID | None = None
    document_type: str | None = Field(default=None, max_length=50)
    url_prefix: str | None = Field(default=None, max_length=2048)
    distinct_urls: bool = Field(
        default=True,
        description="one hit per URL: its best chunk of the URL's latest version (the run's, with "
        "run_id), so a site crawled twice is not found twice; false: every matching chunk",
    )
    tags: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="name:value tags the hit's document must all have, matched without regard to case"
        " (GET /v1/documents/{id} lists a document's tags): language:de, schema_type:Product,"
        " brand:acme, site_name:..., author:..., keyword:...",
    )

    @field_validator("tags")
    @classmethod
    def _name_and_value(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            name, colon, value = tag.partition(":")
            if not colon or not name.strip() or not value.strip() or len(tag) > 300:
                raise ValueError(f"tag {tag[:300]!r}: expected name:value (at most 300 characters)")
        return tags


class SearchRequest(SearchQuery):
    """The internal request: the query, scoped to the tenant the caller authenticated as."""

    tenant_id: UUID


class SearchHit(BaseModel):
    chunk_id: UUID
    document_id: UUID
    job_id: UUID | None
    run_id: UUID
    chunk_index: int
    url: str | None
    title: str | None
    document_type: str
    text: str
    snippet: str = Field(description="the chunk with query terms highlighted (ts_headline)")
    score: float = Field(description="the fused score in hybrid mode, else the mode's own score")
    vector_score: float | None = None
    vector_rank: int | None = None
    keyword_score: float | None = None
    keyword_rank: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class SearchResponse(BaseModel):
    query: str
    mode: SearchMode
    hits: list[SearchHit]
    took_ms: float
