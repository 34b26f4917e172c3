"""The extractor `kill -9`ed in the middle of indexing into Qdrant Edge: after a restart, every
chunk has its point and every point its chunk, as `trawl reconcile` (asked of the running
extractor) reports."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from services.extractor.app import SPEC
from shared.config import Settings
from shared.db import create_pool
from shared.producer import publish_direct
from shared.s3 import ObjectStore
from tests.integration.extractor.conftest import stored_page
from tests.integration.extractor.processes import article, extractor_process, process_env
from tests.support import prepare, wait_until
from trawl.cli import app

pytestmark = pytest.mark.integration

PAGES = 40


async def test_a_kill_in_the_middle_of_indexing_leaves_no_chunk_without_a_point_nor_a_point_without_a_chunk(
    extractor_settings: Settings, object_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = extractor_settings.model_copy(
        update={"qdrant_path": str(tmp_path / "vectors"), "index_batch_chunks": 24}
    )
    env = process_env(settings)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    await prepare(settings, "extractor", SPEC.migrations_dir)
    tenant, run, job = uuid4(), uuid4(), uuid4()
    pages = [
        await stored_page(
            object_store,
            article(number),
            tenant_id=tenant,
            run_id=run,
            job_id=job,
            url=f"https://s.example/{number}",
        )
        for number in range(PAGES)
    ]
    await publish_direct(settings, list(pages), source="test")
    pool = await create_pool(settings, "extractor")
    try:

        async def indexed_documents() -> int:
            count: int = await pool.fetchval(
                "SELECT count(*) FROM documents WHERE tenant_id = $1 AND status = 'indexed'", tenant
            )
            return count

        async def partly_indexed() -> bool:
            return 3 <= await indexed_documents() <= PAGES - 5

        async def all_indexed() -> bool:
            return await indexed_documents() == PAGES

        with extractor_process(env, tmp_path / "extractor.log") as first:
            await wait_until(partly_indexed, within=240, what="some documents indexed, not all")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        half = await indexed_documents()
        assert 0 < half < PAGES
        with extractor_process(env, tmp_path / "extractor.log") as second:
            await wait_until(all_indexed, within=240, what="every document indexed after the restart")
            runner = CliRunner()
            report = await asyncio.to_thread(runner.invoke, app, ["reconcile"])
            assert second.poll() is None
        chunks = await pool.fetchval("SELECT count(*) FROM chunks WHERE tenant_id = $1", tenant)
    finally:
        await pool.close()
    assert report.exit_code == 0, report.output
    assert f"chunks {chunks}, points {chunks}: 0 missing point(s), 0 orphan point(s)" in report.output
    assert "consistent" in report.output
