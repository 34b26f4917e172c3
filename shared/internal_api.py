"""The services' internal HTTP, which only ingest calls (the public API's edge).

Ingest authenticates, rate-limits and audits a caller, then asks the service that owns the
data with the caller's tenant id and the shared internal token. Search is the extractor's
(`shared.search_api`); a run's URLs, with why each was or was not fetched, are the crawler's;
items, products and documents are the extractor's (below). Both sides import these models.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from shared.events.exports import ExportFile

INTERNAL_TOKEN_HEADER = "X-Trawl-Internal-Token"
RUN_URLS_PATH = "/internal/v1/runs/{run_id}/urls"
RUN_SEARCHES_PATH = "/internal/v1/runs/{run_id}/searches"
RUN_IMAGES_PATH = "/internal/v1/runs/{run_id}/images"
MAX_RUN_IMAGES = 500
# Operator commands the extractor carries out, since it owns the vector store (`trawl reindex`,
# `trawl reconcile`).
REINDEX_PATH = "/internal/v1/vectors/reindex"
RECONCILE_PATH = "/internal/v1/vectors/reconcile"
MAX_RUN_URLS = 1000


def token_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class UrlState(StrEnum):
    QUEUED = "queued"
    LEASED = "leased"
    FETCHED = "fetched"
    SKIPPED = "skipped"
    FAILED = "failed"


class RunUrl(BaseModel):
    url: str
    kind: str = Field(description="page, sitemap or image")
    state: UrlState
    reason: str | None = Field(
        description="why skipped or failed: robots, http_404, too_large, duplicate, ..."
    )
    status_code: int | None
    attempts: int
    depth: int
    discovered_from: str | None
    provenance: dict[str, Any] | None = Field(
        default=None,
        description="for a URL a search found: keyword, expansion (when an expansion's search found it), "
        "query, provider, rank, engine, title",
    )
    updated_at: datetime


class RunUrls(BaseModel):
    urls: list[RunUrl]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class RunSearch(BaseModel):
    """One search a keyword job made (each keyword, each page of results)."""

    keyword: str
    expansion: str | None = Field(
        default=None, description="the expansion of the keyword this search asked for, if it is one"
    )
    query: str = Field(
        description="what was asked: the keyword (or expansion), after the brand for brand jobs"
    )
    kind: str = Field(description="web or images")
    page: int
    state: str = Field(description="pending, leased, done, zero_results or failed")
    provider: str | None
    results: int = Field(description="URLs the search seeded")
    from_cache: bool
    diagnostics: dict[str, Any] = Field(description="what the provider said about an empty answer")
    error: str | None
    attempts: int
    updated_at: datetime


class RunSearches(BaseModel):
    searches: list[RunSearch]


class RunImage(BaseModel):
    """A stored image of a run, with its verdict in the validation the listing is about."""

    image_key: str = Field(description="the image's id within its run")
    url: str
    page_url: str | None = Field(description="the page it was found on")
    alt_text: str | None
    label: str | None = Field(description="the keyword whose search found it")
    width: int | None
    height: int | None
    format: str | None
    bytes: int
    sha256: str | None
    phash: str | None = Field(description="ImageHash pHash, 16 hex digits")
    exif_orientation: int | None
    decode_error: str | None = Field(description="corrupt or truncated")
    s3_key: str
    thumbnail_key: str | None
    content_type: str | None
    provenance: dict[str, Any] | None
    fetched_at: datetime
    valid: bool | None = Field(description="the verdict; null when the validation has not judged it")
    reasons: list[str] = Field(description="every rule it breaks")
    duplicate_of: str | None = Field(description="the image_key of the image it copies")


class RunImages(BaseModel):
    images: list[RunImage]
    next_cursor: str | None
    validation_id: UUID | None = Field(description="the validation whose verdicts these are")
    validation_status: str | None
    reasons: dict[str, int] = Field(description="that validation's invalid images by reason")


# -- the extractor's items, products and documents ------------------------------------------

RUN_ITEMS_PATH = "/internal/v1/runs/{run_id}/items"
PRODUCTS_PATH = "/internal/v1/products"
PRODUCT_PATH = "/internal/v1/products/{product_id}"
DOCUMENT_PATH = "/internal/v1/documents/{document_id}"
MAX_PAGE = 500


class ItemOut(BaseModel):
    item_id: UUID
    kind: str = Field(description="product or schema_result")
    created_at: datetime
    document_id: UUID
    url: str | None
    data: dict[str, Any]
    confidence: float | None
    valid: bool | None = Field(description="a record's validity against the job's schema")
    kept: bool = Field(description="false: strict validation kept the record out of the results")
    errors: list[dict[str, str]] = Field(description="a record's validation errors: path and message")
    product_id: UUID | None
    product_hash: str | None
    changed: bool | None = Field(description="a product's price or availability changed since its last run")


class ItemsPage(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None


class Observation(BaseModel):
    run_id: UUID
    job_id: UUID | None
    url: str | None
    price: str | None
    regular_price: str | None
    currency: str | None
    availability: str | None
    changed: bool
    observed_at: datetime


class ProductOut(BaseModel):
    id: UUID
    product_hash: str
    identity_basis: str = Field(description="what identifies it: gtin, brand_mpn, brand_sku or url")
    name: str | None
    brand: str | None
    brand_name: str | None = Field(description="the brand of the job that found it")
    product_data: dict[str, Any]
    confidence: float | None
    first_scraped_at: datetime
    last_seen_at: datetime
    first_run_id: UUID
    last_run_id: UUID
    price: str | None = Field(description="the latest observation's")
    regular_price: str | None
    currency: str | None
    availability: str | None


class ProductsPage(BaseModel):
    products: list[ProductOut]
    next_cursor: str | None


class ProductDetail(ProductOut):
    history: list[Observation] = Field(description="one observation per run, oldest first")


class TagOut(BaseModel):
    name: str
    value: str
    source: str


class ExtractionOut(BaseModel):
    kind: str = Field(description="article_metadata, products or schema_record")
    data: dict[str, Any]
    confidence: float | None
    created_at: datetime


class DocumentOut(BaseModel):
    id: UUID
    job_id: UUID | None
    run_id: UUID
    source_type: str
    url: str | None
    title: str
    document_type: str
    content_hash: str
    status: str
    skipped: str | None
    error_message: str | None
    chunk_count: int
    metadata: dict[str, Any]
    items_found: int
    items_extracted: int
    created_at: datetime
    indexed_at: datetime | None
    tags: list[TagOut]
    extractions: list[ExtractionOut]


def encode_cursor(moment: datetime, identifier: UUID) -> str:
    return f"{moment.isoformat()}_{identifier}"


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (time, id) a page ended at; ValueError when it is not a cursor of ours."""
    moment, _, identifier = cursor.rpartition("_")
    return datetime.fromisoformat(moment), UUID(identifier)


# -- the exporter's exports -------------------------------------------------------------------

EXPORTS_PATH = "/internal/v1/exports"
EXPORT_PATH = "/internal/v1/exports/{export_id}"
EXPORT_LINK_PATH = "/internal/v1/exports/{export_id}/link"
MAX_EXPORTS_PAGE = 200


class ExportOut(BaseModel):
    id: UUID
    run_id: UUID
    job_id: UUID | None
    dataset: str = Field(description="items, products, documents, llm_outputs or images")
    format: str = Field(description="csv, jsonl, json, xlsx, parquet, zip or tar")
    options: dict[str, Any]
    status: str = Field(
        description="waiting (an automatic export, for its run's rows), queued, running, completed, failed"
        " or expired"
    )
    automatic: bool = Field(default=False, description="made by the job at its run's end")
    scope: str = Field(default="run", description="run: the run's rows; job: those of all the job's runs")
    rows_written: int
    rows_total: int | None = Field(description="the rows the export will hold, once counted")
    progress: int | None = Field(description="percent of the rows written")
    rows: int | None = Field(description="rows in the file, once completed")
    file_size: int | None = Field(description="bytes")
    filename: str | None
    files: list[ExportFile] = Field(
        default_factory=list,
        description="every file when there are several (`split_rows`, WebDataset shards)",
    )
    link_ttl_seconds: int
    attempts: int
    error_message: str | None
    note: str | None = Field(default=None, description="what an automatic export went without, if anything")
    requested_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None = Field(description="the file is deleted then; its link answers 410")


class ExportsPage(BaseModel):
    exports: list[ExportOut]
    next_cursor: str | None


class ExportLink(BaseModel):
    """Where a completed export's file is: a URL presigned for at most the export's remaining life."""

    state: str = Field(description="ready, not_ready (queued, running or failed) or expired")
    url: str | None
    expires_at: datetime | None
