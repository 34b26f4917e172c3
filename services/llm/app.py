"""LLM: tasks over products, items and chunks; sessions, retries, failed tasks."""

from pathlib import Path

# metrics: imported so /metrics lists its families from the start, before the first task.
from services.llm import handlers, metrics  # noqa: F401
from shared import runs
from shared.events import JobCreated, RunCancelled, RunDeleted
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="llm",
    handlers={
        JobCreated: handlers.on_job_created,
        RunCancelled: runs.on_run_cancelled,
        RunDeleted: runs.on_run_deleted,
    },
    migrations_dir=Path(__file__).parent / "migrations",
)
