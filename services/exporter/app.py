"""Exporter: dataset exports to S3 with presigned, expiring links."""

from pathlib import Path

# metrics: imported so /metrics lists its families from the start, before the first task.
from services.exporter import handlers, http, metrics, workers  # noqa: F401
from shared import runs
from shared.events import (
    ChunkIndexed,
    ExportRequested,
    ImageStored,
    ImagesValidated,
    ItemExtracted,
    JobCreated,
    LlmTaskCompleted,
    RunCancelled,
    RunCompleted,
    RunDeleted,
)
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="exporter",
    handlers={
        JobCreated: handlers.on_job_created,
        ItemExtracted: handlers.on_item_extracted,
        ChunkIndexed: handlers.on_chunk_indexed,
        ImageStored: handlers.on_image_stored,
        ImagesValidated: handlers.on_images_validated,
        ExportRequested: handlers.on_export_requested,
        LlmTaskCompleted: handlers.on_llm_task_completed,
        RunCompleted: handlers.on_run_completed,
        RunCancelled: runs.on_run_cancelled,
        RunDeleted: handlers.on_run_deleted,
    },
    migrations_dir=Path(__file__).parent / "migrations",
    routes=http.routes,
    workers=(workers.export_forever, workers.sweep_forever),
)
