"""Running the real llm service (Kafka, PostgreSQL, S3) against a local OpenAI-compatible server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from services.llm.app import SPEC
from shared import service
from shared.config import Settings
from shared.events import (
    ItemExtracted,
    ItemKind,
    JobConfig,
    JobCreated,
    LlmQuery,
    LlmTaskCompleted,
    TaskFailed,
)
from shared.internal_api import INTERNAL_TOKEN_HEADER
from shared.producer import publish_direct
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime
from shared.topics import topic_for
from tests.sites.openai_server import FakeOpenAI
from tests.support import consume_all

pytestmark = pytest.mark.integration

QUERY_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "score": {"type": "integer"}},
    "required": ["summary", "score"],
    "additionalProperties": False,
}


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
def llm_settings(settings: Settings, object_store: ObjectStore, fake_llm: FakeOpenAI) -> Settings:
    return settings.model_copy(
        update={
            "s3_bucket": object_store.bucket,
            "llm_url": fake_llm.api_url,
            "llm_api_key": SecretStr(fake_llm.api_key),
            "llm_model": "tiny",
            "llm_poll_seconds": 0.1,
            "llm_retry_seconds": 0.2,
            "llm_max_attempts": 3,
            "outbox_poll_interval": 0.2,
            "handler_backoff_initial": 0.05,
        }
    )


@dataclass
class Llm:
    runtime: ServiceRuntime
    settings: Settings

    @property
    def pool(self) -> asyncpg.Pool:
        assert self.runtime.pool is not None
        return self.runtime.pool

    @property
    def objects(self) -> ObjectStore:
        assert self.runtime.objects is not None
        return self.runtime.objects

    async def start_run(
        self, *, tenant_id: UUID, job_id: UUID, queries: list[LlmQuery], **limits: Any
    ) -> UUID:
        return await start_run(self.settings, tenant_id=tenant_id, job_id=job_id, queries=queries, **limits)

    async def products(
        self, *, tenant_id: UUID, job_id: UUID, run_id: UUID, products: list[dict[str, Any]]
    ) -> None:
        await publish_products(
            self.settings, tenant_id=tenant_id, job_id=job_id, run_id=run_id, products=products
        )

    async def completed(self, expected: int, within: float = 60.0) -> list[LlmTaskCompleted]:
        records = await consume_all(
            self.settings,
            [topic_for(LlmTaskCompleted, self.settings.topic_prefix)],
            expected=expected,
            within=within,
        )
        return [LlmTaskCompleted.model_validate_json(record.value) for record in records]

    async def failed(self, expected: int, within: float = 60.0) -> list[TaskFailed]:
        records = await consume_all(
            self.settings,
            [topic_for(TaskFailed, self.settings.topic_prefix)],
            expected=expected,
            within=within,
        )
        return [TaskFailed.model_validate_json(record.value) for record in records]

    async def internal(self, method: str, path: str, tenant_id: UUID, **params: Any) -> httpx.Response:
        assert self.runtime.http is not None
        async with httpx.AsyncClient(base_url=self.runtime.http.url, timeout=30) as client:
            return await client.request(
                method,
                path,
                params={"tenant_id": str(tenant_id), **params},
                headers={INTERNAL_TOKEN_HEADER: self.settings.internal_token},
            )


async def start_run(
    settings: Settings,
    *,
    tenant_id: UUID,
    job_id: UUID,
    queries: list[LlmQuery],
    run_id: UUID | None = None,
    **limits: Any,
) -> UUID:
    """A run of a job with these queries (and limits) starts: its JobCreated."""
    run_id = run_id or uuid4()
    config = JobConfig.model_validate(
        {
            "seeds": ["https://shop.example/"],
            "llm_queries": [q.model_dump() for q in queries],
            "limits": limits,
        }
    )
    created = JobCreated(
        tenant_id=tenant_id, job_id=job_id, run_id=run_id, config=config, created_at=datetime.now(UTC)
    )
    await publish_direct(settings, [created], source="test")
    return run_id


async def publish_products(
    settings: Settings, *, tenant_id: UUID, job_id: UUID, run_id: UUID, products: list[dict[str, Any]]
) -> None:
    """The extractor's ItemExtracted for each product (identified by its sku)."""
    await publish_direct(
        settings,
        [
            ItemExtracted(
                tenant_id=tenant_id,
                job_id=job_id,
                run_id=run_id,
                item_id=uuid4(),
                kind=ItemKind.PRODUCT,
                data=product,
                content_hash=f"page-{product['sku']}",
                product_hash=f"hash-{product['sku']}",
                changed=True,
            )
            for product in products
        ],
        source="test",
    )


@contextlib.asynccontextmanager
async def running_llm(settings: Settings) -> AsyncIterator[Llm]:
    async with service.running([ServiceRuntime(SPEC, settings, http_port=0)]) as (runtime,):
        yield Llm(runtime, settings)


@pytest.fixture
async def llm(llm_settings: Settings) -> AsyncIterator[Llm]:
    async with running_llm(llm_settings) as running:
        yield running
