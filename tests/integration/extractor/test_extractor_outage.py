"""Embedder or Qdrant down: chunks wait in Postgres, /readyz says why, nothing is lost."""

from __future__ import annotations

import socket
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from services.extractor.vectors.points import VectorFilter
from shared.config import Settings
from tests.fixtures.extractor.embedding_server import DIMENSION, serving
from tests.integration.extractor.conftest import Extractor, running_extractor
from tests.support import wait_until

pytestmark = pytest.mark.integration

PAGES = Path(__file__).parents[2] / "fixtures" / "extractor" / "pages"


async def _readiness(extractor: Extractor) -> dict[str, str]:
    assert extractor.runtime.http is not None
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{extractor.runtime.http.url}/readyz")
    checks: dict[str, str] = response.json()["checks"]
    return checks


async def _pending(extractor: Extractor) -> int:
    count: int = await extractor.pool.fetchval("SELECT count(*) FROM chunks WHERE indexed_at IS NULL")
    return count


async def test_chunks_wait_for_an_embedding_server_that_is_down_and_are_indexed_once_it_is_back(
    extractor_settings: Settings,
) -> None:
    async with serving() as server:
        settings = extractor_settings.model_copy(
            update={
                "embedding_backend": "openai",
                "embedding_url": server.url,
                "embedding_model": "scripted-embedder",
                "embedding_dimensions": DIMENSION,
                "embedding_max_attempts": 1,
            }
        )
        server.faults = [503] * 10_000
        async with running_extractor(settings) as extractor:
            tenant = uuid4()
            page = await extractor.page(
                (PAGES / "article.html").read_bytes(),
                tenant_id=tenant,
                run_id=uuid4(),
                job_id=uuid4(),
                url="https://o.example/",
            )
            await extractor.publish([page])
            assert await wait_until(lambda: _pending(extractor), within=60)
            checks = await wait_until(lambda: _readiness_failing(extractor, "indexer"), within=30)
            assert "indexing stalled" in checks["indexer"] and "503" in checks["indexer"]
            indexed, _ = await extractor.outcomes(expected=0, within=3)
            assert indexed == []

            server.faults.clear()
            indexed, _ = await extractor.outcomes(expected=1)
            assert [event.embedding_model for event in indexed] == ["scripted-embedder"]
            assert await _pending(extractor) == 0
            assert await extractor.pipeline.vectors.count(VectorFilter(tenant)) == indexed[0].chunk_count
            assert await wait_until(lambda: _readiness_ok(extractor), within=30)


async def test_an_unreachable_qdrant_server_keeps_chunks_waiting_and_readiness_says_so(
    extractor_settings: Settings,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = extractor_settings.model_copy(update={"qdrant_url": f"http://127.0.0.1:{closed_port}"})
    async with running_extractor(settings) as extractor:
        page = await extractor.page(
            (PAGES / "article.html").read_bytes(),
            tenant_id=uuid4(),
            run_id=uuid4(),
            job_id=uuid4(),
            url="https://q.example/",
        )
        await extractor.publish([page])
        assert await wait_until(lambda: _pending(extractor), within=60)
        checks = await wait_until(lambda: _readiness_failing(extractor, "indexer"), within=30)
        assert checks["qdrant"] != "ok"
        assert "indexing stalled" in checks["indexer"]
        indexed, _ = await extractor.outcomes(expected=0, within=3)
        assert indexed == []


async def _readiness_failing(extractor: Extractor, check: str) -> dict[str, str] | None:
    checks = await _readiness(extractor)
    return checks if checks[check] != "ok" else None


async def _readiness_ok(extractor: Extractor) -> bool:
    return all(value == "ok" for value in (await _readiness(extractor)).values())
