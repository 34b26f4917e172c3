"""Exactly-once indexing across a crash between the Postgres commit and the Qdrant upsert."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer

from services.extractor.app import SPEC
from services.extractor.pipeline import open_pipeline
from services.extractor.vectors.points import VectorFilter
from shared.config import Settings
from shared.db import create_pool
from shared.envelope import Envelope
from shared.events import PageFetched
from shared.s3 import ObjectStore
from shared.topics import topic_for
from shared.uow import Database
from tests.integration.extractor.conftest import running_extractor, stored_page
from tests.integration.extractor.processes import process_env
from tests.support import prepare

pytestmark = pytest.mark.integration

PAGES = Path(__file__).parents[2] / "fixtures" / "extractor" / "pages"


async def test_a_page_delivered_three_times_with_a_crash_before_the_upsert_is_indexed_once(
    extractor_settings: Settings, object_store: ObjectStore, tmp_path: Path
) -> None:
    settings = extractor_settings.model_copy(update={"qdrant_path": str(tmp_path / "qdrant")})
    tenant = uuid4()
    page = await stored_page(
        object_store,
        (PAGES / "article.html").read_bytes(),
        tenant_id=tenant,
        run_id=uuid4(),
        job_id=uuid4(),
        url="https://k.example/",
    )
    headers = Envelope.new(
        source="crawler", type=PageFetched.type_name(), subject=str(page.run_id), tenant_id=tenant
    ).to_headers()
    await prepare(settings, "extractor", SPEC.migrations_dir)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
    await producer.start()
    try:
        for _ in range(3):  # the same record three times: a redelivery, not three pages
            await producer.send_and_wait(
                topic_for(PageFetched, settings.topic_prefix),
                page.model_dump_json().encode(),
                key=page.url_hash.encode(),
                headers=headers,
            )
    finally:
        await producer.stop()

    child = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(Path(__file__).parent / "extractor_killed_before_upsert.py")],
        env={**os.environ, **process_env(settings)},
        capture_output=True,
        timeout=180,
    )
    assert child.returncode == -9, child.stderr.decode()[-3000:]
    pool = await create_pool(settings, "extractor")
    try:
        chunks = await pool.fetchval("SELECT count(*) FROM chunks WHERE tenant_id = $1", tenant)
        assert chunks > 0
        assert await pool.fetchval("SELECT count(*) FROM chunks WHERE indexed_at IS NOT NULL") == 0
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
        async with open_pipeline(settings, Database(pool, service="extractor", topic_prefix="")) as pipeline:
            assert await pipeline.vectors.count(VectorFilter(tenant)) == 0
    finally:
        await pool.close()

    async with running_extractor(settings) as extractor:
        await extractor.settled()
        indexed, _ = await extractor.outcomes(expected=1)
        rows = {
            row["id"]
            for row in await extractor.pool.fetch("SELECT id FROM chunks WHERE tenant_id = $1", tenant)
        }
        points = await extractor.pipeline.vectors.point_ids(tenant)
    assert len(rows) == chunks
    assert points == rows
    assert [(event.document_id, event.chunk_count) for event in indexed] == [(indexed[0].document_id, chunks)]
