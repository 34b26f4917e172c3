"""Version 1 of every core event (DESIGN.md §3) as pydantic models.

Each model is the JSON payload of one Kafka message; the CloudEvents envelope travels in
the headers (see `shared.envelope`). `schemas/events/<Type>.v1.json` is generated from
these classes and checked in CI, so a change here that breaks an existing contract fails
the build: add optional fields, never remove, rename or retype — that needs a v2 model.
"""

from __future__ import annotations

from shared.events.base import MAX_EVENT_BYTES, SERVICES, Contract, Event
from shared.events.config import (
    ExtractorSchemaRef,
    JobConfig,
    JobKind,
    Limits,
    LlmQuery,
    Pagination,
    PaginationType,
    Schedule,
    Scope,
)
from shared.events.content import (
    ChunkIndexed,
    DocumentUploaded,
    ItemExtracted,
    ItemKind,
    LlmTaskCompleted,
    LlmTaskRequested,
    PageFetched,
)
from shared.events.exports import (
    ExportCompleted,
    ExportDataset,
    ExportFile,
    ExportFormat,
    ExportOptions,
    ExportRequested,
    RunExport,
)
from shared.events.images import (
    DuplicateScope,
    ImageStored,
    ImagesValidated,
    ImageVerdict,
    ValidationProgressed,
    ValidationRequested,
    ValidationRules,
)
from shared.events.jobs import JobCreated, JobRejected, JobSubmitted
from shared.events.runs import (
    SKIPPED_ID,
    CrawlProgress,
    KeywordExpansion,
    RunCancelled,
    RunCompleted,
    RunDeleted,
    RunStatus,
    TaskFailed,
)

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
    LlmTaskRequested,
    TaskFailed,
    RunCompleted,
    RunCancelled,
    RunDeleted,
    ExportRequested,
    ExportCompleted,
    ImageStored,
    ValidationRequested,
    ImagesValidated,
    ValidationProgressed,
)

EVENTS_BY_TYPE: dict[str, type[Event]] = {event.type_name(): event for event in EVENT_TYPES}

__all__ = [
    "EVENTS_BY_TYPE",
    "EVENT_TYPES",
    "MAX_EVENT_BYTES",
    "SERVICES",
    "SKIPPED_ID",
    "ChunkIndexed",
    "Contract",
    "CrawlProgress",
    "DocumentUploaded",
    "DuplicateScope",
    "Event",
    "ExportCompleted",
    "ExportDataset",
    "ExportFile",
    "ExportFormat",
    "ExportOptions",
    "ExportRequested",
    "ExtractorSchemaRef",
    "ImageStored",
    "ImageVerdict",
    "ImagesValidated",
    "ItemExtracted",
    "ItemKind",
    "JobConfig",
    "JobCreated",
    "JobKind",
    "JobRejected",
    "JobSubmitted",
    "KeywordExpansion",
    "Limits",
    "LlmQuery",
    "LlmTaskCompleted",
    "LlmTaskRequested",
    "PageFetched",
    "Pagination",
    "PaginationType",
    "RunCancelled",
    "RunCompleted",
    "RunDeleted",
    "RunExport",
    "RunStatus",
    "Schedule",
    "Scope",
    "TaskFailed",
    "ValidationProgressed",
    "ValidationRequested",
    "ValidationRules",
]
