"""/v1/search through the real ingest service.

Until the extractor lands, the extractor's side is a small real HTTP server in this test that
speaks the internal search contract (shared.search_api): a stand-in for another service's
HTTP at the API layer, not a mock of our infrastructure.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import Settings
from shared.search_api import SearchRequest
from tests.integration.ingest.conftest import Api, stand_in_extractor, start_api

pytestmark = pytest.mark.integration


async def _with_extractor_at(settings: Settings, url: str) -> tuple[Any, Api]:
    return await start_api(settings.model_copy(update={"extractor_internal_url": url}))


async def test_search_passes_the_callers_tenant_and_the_internal_token(settings: Settings) -> None:
    received: list[SearchRequest] = []
    async with stand_in_extractor(settings.internal_token, received) as url:
        runtime, api = await _with_extractor_at(settings, url)
        try:
            acme, other = await api.tenant("acme"), await api.tenant("other")
            answer = await acme.client.post(
                "/v1/search", json={"query": "tide", "mode": "keyword", "limit": 3}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["hits"][0]["text"] == "The tide turns twice a day."
            assert (
                received[0].tenant_id == acme.id and received[0].mode == "keyword" and received[0].limit == 3
            )
            await other.client.post("/v1/search", json={"query": "tide"})
            assert received[1].tenant_id == other.id

            job = (await acme.client.post("/v1/jobs", json={"seeds": ["https://example.com/"]})).json()
            run = (await acme.client.post(f"/v1/jobs/{job['id']}/runs")).json()
            assert (
                await acme.client.post("/v1/search", json={"query": "x", "run_id": run["id"]})
            ).status_code == 200
            assert received[-1].run_id is not None and str(received[-1].run_id) == run["id"]
            for field, value in (("run_id", run["id"]), ("job_id", job["id"])):
                leaked = await other.client.post("/v1/search", json={"query": "x", field: value})
                assert leaked.status_code == 404
            assert len(received) == 3  # refused searches never reach the extractor

            assert (await api.client().post("/v1/search", json={"query": "x"})).status_code == 401
            empty = await acme.client.post("/v1/search", json={"query": ""})
            assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "query"
        finally:
            for client in api.clients:
                await client.aclose()
            await runtime.stop()


async def test_search_without_an_extractor_is_a_clear_503(settings: Settings) -> None:
    runtime, api = await _with_extractor_at(settings, "http://127.0.0.1:9")  # nothing listens on port 9
    try:
        acme = await api.tenant()
        answer = await acme.client.post("/v1/search", json={"query": "tide"})
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert "extractor did not answer" in answer.json()["detail"]
    finally:
        for client in api.clients:
            await client.aclose()
        await runtime.stop()
