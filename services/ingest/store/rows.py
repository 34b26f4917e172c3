"""What the store's queries return, and the run-progress counters they keep."""

from __future__ import annotations

from typing import Any

PROGRESS_COUNTERS = (
    "pages_fetched",
    "pages_failed",
    "documents_indexed",
    "chunks_indexed",
    "items_extracted",
    "items_found",
    "items_announced",
    "llm_tasks_done",
    "errors",
    "extractor_outcomes",
    "extractor_failures",
    "tokens",
)

Row = dict[str, Any]


def row_or_none(record: Any) -> Row | None:
    return dict(record) if record is not None else None
