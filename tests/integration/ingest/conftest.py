"""The ingest service running for real (Kafka, PostgreSQL, S3) with its API on an ephemeral port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from services.ingest import commands
from services.ingest.app import SPEC
from shared.config import Settings
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
        async with self.pool.acquire() as conn, conn.transaction():
            made = await commands.create_tenant_with_admin(
                conn,
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
