"""Crawler: durable frontier, polite fetching, raw bytes to S3 -> PageFetched."""

from pathlib import Path

from services.crawler import handlers
from shared import runs
from shared.events import JobCreated, RunCancelled, RunDeleted
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="crawler",
    handlers={
        JobCreated: handlers.on_job_created,
        RunCancelled: handlers.on_run_cancelled,
        RunDeleted: runs.on_run_deleted,
    },
    migrations_dir=Path(__file__).parent / "migrations",
)
