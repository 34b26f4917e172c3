"""Ingest: the public HTTP API, Kafka intake of job submissions, schedules, and the run-progress
read model; owns tenants, keys, jobs and runs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
from starlette.routing import BaseRoute, Mount

from services.ingest import handlers
from services.ingest.http.app import create_app
from services.ingest.http.deps import ApiContext
from services.ingest.scheduler import schedule_runs
from shared.events import (
    ChunkIndexed,
    CrawlProgress,
    ItemExtracted,
    JobSubmitted,
    LlmTaskCompleted,
    PageFetched,
    RunCompleted,
    TaskFailed,
    ValidationProgressed,
)
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime, ServiceSpec
from shared.uow import Database


@contextlib.asynccontextmanager
async def _lifespan(runtime: ServiceRuntime) -> AsyncIterator[None]:
    """The HTTP client the API calls other services' internal endpoints with."""
    async with httpx.AsyncClient() as client:
        runtime.resources.add(httpx.AsyncClient, client)
        yield


def _routes(runtime: ServiceRuntime) -> Sequence[BaseRoute]:
    resources = runtime.resources
    context = ApiContext(
        db=resources.get(Database),
        objects=resources.get(ObjectStore),
        settings=runtime.settings,
        http=resources.get(httpx.AsyncClient),
    )
    return [Mount("", app=create_app(context))]


SPEC = ServiceSpec(
    name="ingest",
    handlers={
        JobSubmitted: handlers.on_job_submitted,
        PageFetched: handlers.on_page_fetched,
        CrawlProgress: handlers.on_crawl_progress,
        ChunkIndexed: handlers.on_chunk_indexed,
        ItemExtracted: handlers.on_item_extracted,
        LlmTaskCompleted: handlers.on_llm_task_completed,
        TaskFailed: handlers.on_task_failed,
        RunCompleted: handlers.on_run_completed,
        ValidationProgressed: handlers.on_validation_progressed,
    },
    migrations_dir=Path(__file__).parent / "migrations",
    routes=_routes,
    lifespan=_lifespan,
    workers=(schedule_runs,),
)
