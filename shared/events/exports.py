"""Dataset exports: what a run found (items, products, documents, LLM outputs, images) as one
file in S3 (CSV, JSON Lines, JSON, Excel, Parquet, or a zip / tar of images), behind an
expiring link."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from shared.events.base import Contract, Event
from shared.events.content import ItemKind

MAX_LINK_SECONDS = 7 * 24 * 3600  # S3's SigV4 limit for a presigned URL


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    JSON = "json"
    XLSX = "xlsx"
    PARQUET = "parquet"
    IMAGES_ZIP = "images_zip"  # the first name of `zip`; still accepted
    ZIP = "zip"
    TAR = "tar"
    WEBDATASET = "webdataset"  # tar shards as img2dataset writes them: image, .txt caption, .json

    @property
    def is_archive(self) -> bool:
        """An archive of files (images), rather than a table of rows."""
        return self in (ExportFormat.IMAGES_ZIP, ExportFormat.ZIP, ExportFormat.TAR, ExportFormat.WEBDATASET)


class ExportDataset(StrEnum):
    ITEMS = "items"
    PRODUCTS = "products"
    DOCUMENTS = "documents"
    LLM_OUTPUTS = "llm_outputs"
    IMAGES = "images"


class ExportOptions(Contract):
    """How rows are chosen and shaped (after Apify's dataset API)."""

    fields: list[str] = Field(
        default_factory=list, max_length=500, description="only these columns, in this order"
    )
    omit: list[str] = Field(default_factory=list, max_length=500, description="columns left out")
    flatten: bool = Field(default=False, description="nested objects as dotted columns (a.b.c)")
    unwind: str | None = Field(
        default=None,
        max_length=200,
        description="a row per element of this list column (an object element's fields merged in);"
        " an object column merged into its row",
    )
    bom: bool = Field(default=False, description="CSV: a UTF-8 byte order mark, for Excel")
    valid: bool | None = Field(
        default=None,
        description="items and images: only valid (true) or invalid (false) ones; a record strict"
        " validation kept out of the results counts as invalid; image archives leave out the images"
        " judged invalid unless this says otherwise",
    )
    min_confidence: float | None = Field(default=None, ge=0, le=1, description="items: at least this")
    kind: ItemKind | None = Field(default=None, description="items: only products or only schema records")
    markdown: bool = Field(default=True, description="documents: each page's Markdown in a column")
    manifest: Literal["csv", "jsonl"] = Field(default="csv", description="archives: the manifest's format")
    split_rows: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="a new file every this many rows (Scrapy's batch_item_count); webdataset: samples per"
        " shard (10,000 by default)",
    )


class RunExport(Contract):
    """An export a job makes of each of its runs when the run completes (after Scrapy's feeds
    and Apify's run datasets): a scheduled job delivers a file per run."""

    dataset: ExportDataset = ExportDataset.ITEMS
    format: ExportFormat
    options: ExportOptions = Field(default_factory=ExportOptions)
    link_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=MAX_LINK_SECONDS)

    @model_validator(mode="after")
    def _format_fits_dataset(self) -> Self:
        check_format_fits(self.dataset, self.format)
        return self


class ExportRequested(Event):
    """A dataset export of a run was asked for."""

    event_name = "export-requested"
    export_id: UUID
    run_id: UUID
    format: ExportFormat
    link_ttl_seconds: int = Field(default=3600, ge=60, le=MAX_LINK_SECONDS)
    requested_at: datetime
    job_id: UUID | None = None
    dataset: ExportDataset = ExportDataset.ITEMS
    options: ExportOptions = Field(default_factory=ExportOptions)
    scope: Literal["run", "job"] = Field(
        default="run",
        description="run: the run's rows; job: those of every run of job_id (run_id is its latest;"
        " products: the latest of each product across the runs)",
    )

    @model_validator(mode="after")
    def _format_fits_dataset(self) -> Self:
        check_format_fits(self.dataset, self.format)
        if self.scope == "job" and self.job_id is None:
            raise ValueError("an export of a job names the job (job_id)")
        return self


def check_format_fits(dataset: ExportDataset, format: ExportFormat) -> None:
    """A ValueError saying why `format` cannot carry `dataset`, if it cannot."""
    if format.is_archive and dataset is not ExportDataset.IMAGES:
        raise ValueError(f"a {format.value} archive holds image files: use it with the images dataset")


class ExportFile(Contract):
    """One file of an export (an export split into files, or a WebDataset's shards, has several)."""

    name: str
    s3_key: str
    size: int = Field(ge=0)
    rows: int = Field(ge=0)


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
    dataset: ExportDataset | None = None
    expires_at: datetime | None = Field(default=None, description="when the file is deleted")
    files: list[ExportFile] = Field(
        default_factory=list, description="every file, in order, when there are several (s3_key is the first)"
    )
