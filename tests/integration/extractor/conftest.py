"""Running the real extractor (Kafka, PostgreSQL, S3, Qdrant local mode) and feeding it pages."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from services.extractor.app import SPEC
from services.extractor.pipeline import Pipeline
from shared import service
from shared.config import Settings
from shared.events import ChunkIndexed, DocumentUploaded, PageFetched, TaskFailed
from shared.internal_api import INTERNAL_TOKEN_HEADER
from shared.producer import publish_direct
from shared.s3 import ObjectStore
from shared.search_api import INTERNAL_SEARCH_PATH
from shared.service import ServiceRuntime
from shared.topics import topic_for
from tests.support import consume_all, consumed_everything, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def extractor_settings(settings: Settings, object_store: ObjectStore) -> Settings:
    return settings.model_copy(
        update={
            "s3_bucket": object_store.bucket,
            "qdrant_path": ":memory:",
            "index_poll_interval": 0.1,
            "outbox_poll_interval": 0.2,
            "handler_backoff_initial": 0.05,
        }
    )


@dataclass
class Extractor:
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

    @property
    def pipeline(self) -> Pipeline:
        return self.runtime.resources.get(Pipeline)

    async def page(
        self,
        body: bytes,
        *,
        tenant_id: UUID,
        run_id: UUID,
        job_id: UUID,
        url: str,
        content_type: str = "text/html; charset=utf-8",
    ) -> PageFetched:
        return await stored_page(
            self.objects,
            body,
            tenant_id=tenant_id,
            run_id=run_id,
            job_id=job_id,
            url=url,
            content_type=content_type,
        )

    async def upload(
        self, body: bytes, *, tenant_id: UUID, run_id: UUID, filename: str, content_type: str
    ) -> DocumentUploaded:
        stored = await self.objects.put_content_addressed(body, content_type=content_type)
        return DocumentUploaded(
            tenant_id=tenant_id,
            run_id=run_id,
            document_id=uuid4(),
            filename=filename,
            content_type=content_type,
            content_hash=stored.sha256,
            s3_key=stored.key,
            size=stored.size,
            uploaded_at=datetime.now(UTC),
        )

    async def publish(self, events: list[Any]) -> None:
        await publish_direct(self.settings, events, source="test")

    async def outcomes(
        self, expected: int, within: float = 90.0
    ) -> tuple[list[ChunkIndexed], list[TaskFailed]]:
        topics = [
            topic_for(ChunkIndexed, self.settings.topic_prefix),
            topic_for(TaskFailed, self.settings.topic_prefix),
        ]
        records = await consume_all(self.settings, topics, expected=expected, within=within)
        indexed = [ChunkIndexed.model_validate_json(r.value) for r in records if "chunk-indexed" in r.topic]
        failed = [TaskFailed.model_validate_json(r.value) for r in records if "task-failed" in r.topic]
        return indexed, failed

    async def settled(self) -> None:
        """Every page and upload sent so far has been taken in, every chunk indexed, and every
        event owed published: what the extractor was going to do with them is done."""
        await consumed_everything(self.settings, "extractor", [PageFetched, DocumentUploaded])
        await wait_until(
            lambda: self.pool.fetchval("SELECT count(*) = 0 FROM chunks WHERE indexed_at IS NULL"),
            what="every chunk indexed",
        )
        await wait_until(
            lambda: self.pool.fetchval("SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"),
            what="every event published",
        )

    async def search(self, body: dict[str, Any], token: str | None = None) -> httpx.Response:
        assert self.runtime.http is not None
        async with httpx.AsyncClient(base_url=self.runtime.http.url, timeout=30) as client:
            return await client.post(
                INTERNAL_SEARCH_PATH,
                content=json.dumps(body, default=str),
                headers={INTERNAL_TOKEN_HEADER: token if token is not None else self.settings.internal_token},
            )


async def stored_page(
    objects: ObjectStore,
    body: bytes,
    *,
    tenant_id: UUID,
    run_id: UUID,
    job_id: UUID,
    url: str,
    content_type: str = "text/html; charset=utf-8",
) -> PageFetched:
    """The bytes stored as the crawler stores them, and the PageFetched it would publish."""
    stored = await objects.put_content_addressed(body, content_type=content_type)
    return PageFetched(
        tenant_id=tenant_id,
        job_id=job_id,
        run_id=run_id,
        url=url,
        final_url=url,
        url_hash=uuid4().hex,
        status=200,
        content_type=content_type,
        content_hash=stored.sha256,
        s3_key=stored.key,
        size=stored.size,
        depth=0,
        fetched_at=datetime.now(UTC),
    )


@contextlib.asynccontextmanager
async def running_extractor(settings: Settings) -> AsyncIterator[Extractor]:
    async with service.running([ServiceRuntime(SPEC, settings, http_port=0)]) as (runtime,):
        yield Extractor(runtime, settings)


@pytest.fixture
async def extractor(extractor_settings: Settings) -> AsyncIterator[Extractor]:
    async with running_extractor(extractor_settings) as running:
        yield running
