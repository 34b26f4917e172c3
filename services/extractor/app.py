"""Extractor: main text, documents and chunks, embeddings, products and schema results."""

from pathlib import Path

from services.extractor import handlers
from shared import runs
from shared.events import JobCreated, RunCancelled, RunDeleted
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="extractor",
    handlers={
        JobCreated: handlers.on_job_created,
        RunCancelled: runs.on_run_cancelled,
        RunDeleted: runs.on_run_deleted,
    },
    migrations_dir=Path(__file__).parent / "migrations",
)
