"""Crawler: durable frontier, polite fetching, raw bytes to S3 -> PageFetched."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from services.crawler import handlers, http
from services.crawler.domain.ssrf import AddressPolicy
from services.crawler.fetcher import Fetcher
from services.crawler.search_providers import configured_provider
from services.crawler.searcher import Searcher
from services.crawler.validator import Validator
from services.crawler.worker import CrawlWorker
from shared.config import Settings
from shared.events import (
    JobCreated,
    LlmTaskCompleted,
    RunCancelled,
    RunDeleted,
    TaskFailed,
    ValidationRequested,
)
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime, ServiceSpec
from shared.uow import Database


@contextlib.asynccontextmanager
async def fetching(runtime: ServiceRuntime) -> AsyncIterator[None]:
    settings = runtime.resources.get(Settings)
    fetcher = Fetcher(
        AddressPolicy(settings.crawler_allowed_networks), max_connections=4 * settings.crawler_concurrency
    )
    runtime.resources.add(Fetcher, fetcher)
    # The search provider is the operator's own choice of server: it is not behind the SSRF guard.
    search_client = httpx.AsyncClient(timeout=settings.search_provider_timeout_seconds, follow_redirects=True)
    runtime.resources.add(
        Searcher,
        Searcher(runtime.resources.get(Database), configured_provider(settings, search_client), settings),
    )
    try:
        yield
    finally:
        await fetcher.aclose()
        await search_client.aclose()


async def crawl(runtime: ServiceRuntime) -> None:
    resources = runtime.resources
    worker = CrawlWorker(
        db=resources.get(Database),
        objects=resources.get(ObjectStore),
        fetcher=resources.get(Fetcher),
        settings=resources.get(Settings),
    )
    await worker.run()


async def search(runtime: ServiceRuntime) -> None:
    await runtime.resources.get(Searcher).run()


async def validate(runtime: ServiceRuntime) -> None:
    await Validator(runtime.resources.get(Database)).run()


SPEC = ServiceSpec(
    name="crawler",
    handlers={
        JobCreated: handlers.on_job_created,
        LlmTaskCompleted: handlers.on_llm_task_completed,
        TaskFailed: handlers.on_task_failed,
        RunCancelled: handlers.on_run_cancelled,
        RunDeleted: handlers.on_run_deleted,
        ValidationRequested: handlers.on_validation_requested,
    },
    migrations_dir=Path(__file__).parent / "migrations",
    routes=http.routes,
    lifespan=fetching,
    workers=(crawl, search, validate),
)
