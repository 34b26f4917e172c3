"""Submissions and the start of a run."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from shared.events.base import Event
from shared.events.config import JobConfig


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
