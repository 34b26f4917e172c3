"""Exporter: dataset exports to S3 with presigned, expiring links."""

from pathlib import Path

# metrics: imported so /metrics lists its families from the start, before the first task.
from services.exporter import handlers, metrics  # noqa: F401
from shared import runs
from shared.events import ItemExtracted, JobCreated, RunCancelled, RunDeleted
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="exporter",
    handlers={
        JobCreated: handlers.on_job_created,
        ItemExtracted: handlers.on_item_extracted,
        RunCancelled: runs.on_run_cancelled,
        RunDeleted: runs.on_run_deleted,
    },
    migrations_dir=Path(__file__).parent / "migrations",
)
