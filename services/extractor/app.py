"""Extractor: main text, documents and chunks, embeddings, hybrid search -> ChunkIndexed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from services.extractor import handlers, http, workers
from services.extractor.pipeline import Pipeline, open_pipeline
from shared import runs
from shared.events import (
    DocumentUploaded,
    JobCreated,
    LlmTaskCompleted,
    PageFetched,
    RunCancelled,
    RunDeleted,
)
from shared.http import Check
from shared.service import ServiceRuntime, ServiceSpec
from shared.uow import Database


@contextlib.asynccontextmanager
async def lifespan(runtime: ServiceRuntime) -> AsyncIterator[None]:
    async with open_pipeline(runtime.settings, runtime.resources.get(Database)) as pipeline:
        runtime.resources.add(Pipeline, pipeline)
        yield


def checks(runtime: ServiceRuntime) -> Mapping[str, Check]:
    pipeline = runtime.resources.get(Pipeline)
    return {"qdrant": pipeline.vectors.ping, "indexer": pipeline.health.check}


SPEC = ServiceSpec(
    name="extractor",
    handlers={
        JobCreated: handlers.on_job_created,
        PageFetched: handlers.on_page_fetched,
        DocumentUploaded: handlers.on_document_uploaded,
        LlmTaskCompleted: handlers.on_llm_task_completed,
        RunCancelled: runs.on_run_cancelled,
        RunDeleted: handlers.on_run_deleted,
    },
    migrations_dir=Path(__file__).parent / "migrations",
    routes=http.routes,
    lifespan=lifespan,
    workers=(workers.index_forever, workers.delete_runs_forever, workers.reindex_forever),
    checks=checks,
)
