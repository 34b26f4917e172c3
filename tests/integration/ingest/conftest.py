"""The ingest service running for real (Kafka, PostgreSQL, S3) with its API on an ephemeral port,
and a stand-in for the extractor's internal search endpoint."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.ingest import commands
from services.ingest.app import SPEC
from shared.config import Settings
from shared.http import HealthServer
from shared.internal_api import INTERNAL_TOKEN_HEADER
from shared.search_api import (
    INTERNAL_SEARCH_PATH,
    SearchHit,
    SearchRequest,
    SearchResponse,
)
from shared.service import ServiceRuntime


@dataclass
class Tenant:
    id: UUID
    user_id: UUID
    key: str
    client: httpx.AsyncClient


@dataclass
class Api:
    runtime: ServiceRuntime
    url: str
    pool: asyncpg.Pool
    clients: list[httpx.AsyncClient]

    async def tenant(self, name: str = "acme", **limits: Any) -> Tenant:
        assert self.runtime.db is not None
        async with self.runtime.db.unit_of_work() as uow:
            made = await commands.create_tenant_with_admin(
                uow,
                name=name,
                email=f"admin@{name}.example",
                quota_pages_monthly=limits.get("quota_pages_monthly", 1000),
                max_active_runs=limits.get("max_active_runs", 50),
            )
        return Tenant(made.tenant_id, made.user_id, made.key.plaintext, self.client(made.key.plaintext))

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)
        self.clients.append(client)
        return client


async def start_api(settings: Settings) -> tuple[ServiceRuntime, Api]:
    runtime = ServiceRuntime(SPEC, settings, http_port=0)
    await runtime.start()
    assert runtime.http is not None and runtime.pool is not None
    return runtime, Api(runtime, runtime.http.url, runtime.pool, [])


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    quick = settings.model_copy(update={"outbox_poll_interval": 0.2, "schedule_poll_seconds": 3600})
    runtime, running = await start_api(quick)
    try:
        yield running
    finally:
        for client in running.clients:
            await client.aclose()
        await runtime.stop()


@contextlib.asynccontextmanager
async def stand_in_extractor(token: str, received: list[SearchRequest]) -> AsyncIterator[str]:
    """The extractor's side of the internal search contract (shared.search_api), until the extractor
    lands: a small real HTTP server answering one fixed hit, recording what it was asked."""

    async def search(request: Request) -> Response:
        if request.headers.get(INTERNAL_TOKEN_HEADER) != token:
            return JSONResponse({"detail": "bad token"}, status_code=401)
        query = SearchRequest.model_validate_json(await request.body())
        received.append(query)
        hit = SearchHit(
            chunk_id=uuid4(),
            document_id=uuid4(),
            job_id=None,
            run_id=uuid4(),
            chunk_index=0,
            url="https://example.com/tides",
            title="Tides",
            document_type="web_page",
            text="The tide turns twice a day.",
            snippet="The <b>tide</b> turns",
            score=0.9,
        )
        reply = SearchResponse(query=query.query, mode=query.mode, hits=[hit], took_ms=1.0)
        return Response(reply.model_dump_json(), media_type="application/json")

    server = HealthServer(
        "extractor-stand-in",
        "127.0.0.1",
        0,
        checks={},
        routes=[Route(INTERNAL_SEARCH_PATH, search, methods=["POST"])],
    )
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()
