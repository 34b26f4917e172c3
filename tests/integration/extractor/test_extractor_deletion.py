"""RunDeleted cascades through rows, points and objects; `trawl reconcile` finds and repairs damage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from services.extractor.pipeline import open_pipeline
from services.extractor.vectors.points import ChunkPoint, VectorFilter
from shared.config import Settings
from shared.db import create_pool
from shared.events import PageFetched, RunDeleted
from shared.uow import Database
from tests.integration.extractor.conftest import running_extractor
from tests.support import consumed_everything, wait_until
from trawl.cli import app

pytestmark = pytest.mark.integration

PAGES = Path(__file__).parents[2] / "fixtures" / "extractor" / "pages"


async def test_deleting_a_run_leaves_nothing_and_reconcile_repairs_injected_damage(
    extractor_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = extractor_settings.model_copy(update={"qdrant_path": str(tmp_path / "qdrant")})
    tenant, job = uuid4(), uuid4()
    doomed, kept = uuid4(), uuid4()
    shared_bytes = (PAGES / "article.html").read_bytes()
    async with running_extractor(settings) as extractor:
        pages = [
            await extractor.page(
                shared_bytes, tenant_id=tenant, run_id=doomed, job_id=job, url="https://e.example/1"
            ),
            await extractor.page(
                (PAGES / "cp1252.html").read_bytes(),
                tenant_id=tenant,
                run_id=doomed,
                job_id=job,
                url="https://e.example/2",
            ),
            # Another job's run holds the same bytes: that object must survive the deletion.
            await extractor.page(
                shared_bytes, tenant_id=tenant, run_id=kept, job_id=uuid4(), url="https://e.example/1"
            ),
        ]
        await extractor.publish(pages)
        await extractor.outcomes(expected=3)
        vectors, pool = extractor.pipeline.vectors, extractor.pool
        assert await vectors.count(VectorFilter(tenant, run_id=doomed)) > 0

        await extractor.publish(
            [RunDeleted(tenant_id=tenant, job_id=job, run_id=doomed, deleted_at=datetime.now(UTC))]
        )
        assert await wait_until(
            lambda: pool.fetchval("SELECT state = 'done' FROM run_deletions WHERE run_id = $1", doomed),
            within=60,
        )
        assert await pool.fetchval("SELECT count(*) FROM documents WHERE run_id = $1", doomed) == 0
        assert await pool.fetchval("SELECT count(*) FROM chunks WHERE run_id = $1", doomed) == 0
        assert await vectors.count(VectorFilter(tenant, run_id=doomed)) == 0
        assert not await extractor.objects.exists(pages[1].s3_key)
        assert await extractor.objects.exists(pages[0].s3_key)
        kept_chunks = await pool.fetchval("SELECT count(*) FROM chunks WHERE run_id = $1", kept)
        assert await vectors.count(VectorFilter(tenant, run_id=kept)) == kept_chunks > 0

        # A late page of the deleted run is not indexed again.
        late = await extractor.page(
            b"late words",
            tenant_id=tenant,
            run_id=doomed,
            job_id=job,
            url="https://e.example/3",
            content_type="text/plain",
        )
        await extractor.publish([late])
        await consumed_everything(extractor.settings, "extractor", [PageFetched])
        assert await pool.fetchval("SELECT count(*) FROM documents WHERE run_id = $1", doomed) == 0

        # Damage: a lost point, a stray point, and an object of the deleted run back in S3.
        lost = await pool.fetchval(
            "SELECT id FROM chunks WHERE run_id = $1 ORDER BY chunk_index LIMIT 1", kept
        )
        await vectors.active.store.delete_ids([lost])
        stray = uuid4()
        await vectors.active.store.upsert(
            [
                ChunkPoint(
                    stray,
                    [1.0] + [0.0] * (vectors.active.store.dimension - 1),
                    tenant,
                    None,
                    kept,
                    uuid4(),
                    0,
                    None,
                    "",
                    "html",
                    "x",
                )
            ]
        )
        await extractor.objects.put(pages[1].s3_key, b"resurrected")

    for name, value in {
        "TRAWL_SCHEMA_PREFIX": settings.schema_prefix,
        "TRAWL_TOPIC_PREFIX": settings.topic_prefix,
        "TRAWL_S3_BUCKET": settings.s3_bucket,
        "TRAWL_QDRANT_PATH": settings.qdrant_path or "",
        # The extractor is stopped: the command opens the stores itself (nothing listens here).
        "TRAWL_EXTRACTOR_INTERNAL_URL": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    found = await asyncio.to_thread(runner.invoke, app, ["reconcile"])
    assert found.exit_code == 1, found.output
    assert "1 missing point(s), 1 orphan point(s), 1 orphan object(s)" in found.output
    assert str(lost) in found.output and str(stray) in found.output and pages[1].s3_key in found.output
    repaired = await asyncio.to_thread(runner.invoke, app, ["reconcile", "--run", str(kept), "--repair"])
    assert repaired.exit_code == 0 and "repaired" in repaired.output, repaired.output
    repaired = await asyncio.to_thread(runner.invoke, app, ["reconcile", "--repair"])
    assert repaired.exit_code == 0 and "repaired" in repaired.output, repaired.output
    clean = await asyncio.to_thread(runner.invoke, app, ["reconcile"])
    assert clean.exit_code == 0 and "consistent" in clean.output, clean.output

    pool = await create_pool(settings, "extractor")
    try:
        async with open_pipeline(settings, Database(pool, service="extractor", topic_prefix="")) as pipeline:
            assert await pipeline.vectors.count(VectorFilter(tenant, run_id=kept)) == kept_chunks
            assert lost in await pipeline.vectors.point_ids(tenant, kept)
    finally:
        await pool.close()
