"""Ingest: public API (later) and Kafka intake of job submissions; owns jobs and runs."""

from pathlib import Path

from services.ingest import handlers
from shared.events import (
    ChunkIndexed,
    ItemExtracted,
    JobSubmitted,
    LlmTaskCompleted,
    PageFetched,
    RunCompleted,
    TaskFailed,
)
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="ingest",
    handlers={
        JobSubmitted: handlers.on_job_submitted,
        PageFetched: handlers.on_page_fetched,
        ChunkIndexed: handlers.on_chunk_indexed,
        ItemExtracted: handlers.on_item_extracted,
        LlmTaskCompleted: handlers.on_llm_task_completed,
        TaskFailed: handlers.on_task_failed,
        RunCompleted: handlers.on_run_completed,
    },
    migrations_dir=Path(__file__).parent / "migrations",
)
