"""A run's lifecycle and the failures inside it."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from shared.events.base import Contract, Event

MAX_ERROR_CHARS = 4000
# In a TaskFailed's ids: the task was not attempted at all, for the reason given (no LLM
# endpoint configured for a keyword job's expansions): an outcome to report, not an error.
SKIPPED_ID = "skipped"


class TaskFailed(Event):
    """A unit of work failed for good after its retries."""

    event_name = "task-failed"
    service: str
    task_kind: str = Field(description="what failed, e.g. the consumed event type or 'fetch'")
    job_id: UUID | None = None
    run_id: UUID | None = None
    ids: dict[str, str] = Field(
        default_factory=dict,
        description="ids of what failed (event id, url hash, ...); `skipped`: not attempted, and why",
    )
    error: str
    attempts: int = Field(ge=0)
    failed_at: datetime

    @classmethod
    def now(
        cls,
        *,
        service: str,
        tenant_id: UUID,
        task_kind: str,
        error: str,
        attempts: int,
        job_id: UUID | None = None,
        run_id: UUID | None = None,
        ids: dict[str, str] | None = None,
    ) -> TaskFailed:
        """A failure that happened just now; the error text is cut to what an event carries."""
        return cls(
            tenant_id=tenant_id,
            service=service,
            task_kind=task_kind,
            job_id=job_id,
            run_id=run_id,
            ids=ids or {},
            error=error[:MAX_ERROR_CHARS],
            attempts=attempts,
            failed_at=datetime.now(UTC),
        )


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

    @classmethod
    def now(
        cls,
        *,
        service: str,
        tenant_id: UUID,
        job_id: UUID,
        run_id: UUID,
        status: RunStatus,
        counters: dict[str, int],
    ) -> RunCompleted:
        return cls(
            tenant_id=tenant_id,
            job_id=job_id,
            run_id=run_id,
            service=service,
            status=status,
            counters=counters,
            completed_at=datetime.now(UTC),
        )


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


EXPANSION_STATES = ("requested", "done", "job", "off", "skipped", "failed", "timed_out")


class KeywordExpansion(Contract):
    """What became of a keyword job's expansions in a run: asked of the llm service
    (`requested`), made by it and searched (`done`), the job's own searched instead (`job`),
    none wanted (`off`), or none because no LLM is configured (`skipped`), it failed (`failed`)
    or did not answer in time (`timed_out`) — the plain keywords are searched whatever."""

    state: str = Field(description=", ".join(EXPANSION_STATES))
    note: str | None = Field(default=None, description="why, in a line")
    expanded_keywords: dict[str, list[str]] = Field(
        default_factory=dict, description="per keyword, the expansions searched besides it"
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
    refusals: dict[str, int] = Field(
        default_factory=dict,
        description="URLs not fetched, or fetched and not stored, by reason (robots, http_404, "
        "duplicate, ...)",
    )
    keyword_expansion: KeywordExpansion | None = Field(
        default=None, description="a keyword job's expansions in this run"
    )
