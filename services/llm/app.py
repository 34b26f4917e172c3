"""LLM: a run's queries over its products, schema extractions and users' tasks, with sessions,
retries, failed tasks, a cache, shared rate limits and budgets -> LlmTaskCompleted."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

# metrics: imported so /metrics lists its families from the start, before the first task.
from services.llm import handlers, http, metrics, workers  # noqa: F401
from services.llm.client import ChatModel
from services.llm.commands.planning import NO_ENDPOINT
from shared.events import ItemExtracted, JobCreated, LlmTaskRequested, RunCancelled, RunDeleted
from shared.service import ServiceRuntime, ServiceSpec


@contextlib.asynccontextmanager
async def lifespan(runtime: ServiceRuntime) -> AsyncIterator[None]:
    if runtime.settings.llm_url is None:
        yield
        return
    model = ChatModel(runtime.settings)
    runtime.resources.add(ChatModel, model)
    try:
        yield
    finally:
        await model.close()


def notes(runtime: ServiceRuntime) -> Mapping[str, str]:
    return {"llm_endpoint": NO_ENDPOINT} if runtime.settings.llm_url is None else {}


SPEC = ServiceSpec(
    name="llm",
    handlers={
        JobCreated: handlers.on_job_created,
        ItemExtracted: handlers.on_item_extracted,
        LlmTaskRequested: handlers.on_llm_task_requested,
        RunCancelled: handlers.on_run_cancelled,
        RunDeleted: handlers.on_run_deleted,
    },
    migrations_dir=Path(__file__).parent / "migrations",
    routes=http.routes,
    lifespan=lifespan,
    workers=(workers.run_tasks_forever,),
    notes=notes,
)
