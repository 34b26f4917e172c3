"""Dataset exports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events.base import Event


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
