"""Why a run's URLs were not fetched, through the public API: the counts by reason on the run,
the URLs themselves page by page, and neither for another tenant."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from services.crawler.app import SPEC as CRAWLER
from services.extractor.app import SPEC as EXTRACTOR
from shared.config import Settings
from shared.service import ServiceRuntime, running
from tests.integration.crawler.conftest import crawler_settings
from tests.integration.ingest.conftest import Tenant, start_api
from tests.sites.fixture_site import FixtureSite
from tests.support import wait_until

pytestmark = pytest.mark.integration


async def test_a_run_says_why_urls_were_refused_and_lists_them(settings: Settings) -> None:
    settings = crawler_settings(settings, allowed="127.0.0.2/32").model_copy(
        update={"qdrant_path": ":memory:", "index_poll_interval": 0.1, "outbox_poll_interval": 0.2}
    )
    crawler = ServiceRuntime(CRAWLER, settings.model_copy(update={"http_base_port": 0}), http_port=0)
    extractor = ServiceRuntime(EXTRACTOR, settings, http_port=0)
    async with FixtureSite(host="127.0.0.2", crawl_delay=0) as site, running([crawler, extractor]):
        assert crawler.http is not None
        runtime, api = await start_api(settings.model_copy(update={"crawler_internal_url": crawler.http.url}))
        try:
            acme, other = await api.tenant("acme"), await api.tenant("other")
            job = await acme.client.post(
                "/v1/jobs", json={"seeds": [site.url("/")], "limits": {"max_pages": 500, "max_retries": 1}}
            )
            run = (await acme.client.post(f"/v1/jobs/{job.json()['id']}/runs")).json()
            done = await wait_until(lambda: _run_if_done(acme, run["id"]), within=240, what="the run done")
            listed = await _all_urls(acme, run["id"], status=["failed", "skipped"])
            assert (await other.client.get(f"/v1/runs/{run['id']}/pages")).status_code == 404
        finally:
            for client in api.clients:
                await client.aclose()
            await runtime.stop()

    expected = site.expected
    not_fetched = {**expected.skipped, **expected.failed}
    # The run's counts by reason are the crawler's, whatever the kind of URL (pages, sitemaps).
    refusals = done["progress"]["refusals"]
    by_reason = Counter(entry["reason"] for entry in listed)
    assert refusals == dict(by_reason)
    assert by_reason["robots"] == sum(1 for reason in not_fetched.values() if reason == "robots")
    assert by_reason["duplicate"] == 2 and by_reason["http_404"] >= 1 and by_reason["too_large"] == 3
    # Each listed page says why.
    pages = {entry["url"]: entry["reason"] for entry in listed if entry["kind"] == "page"}
    assert pages == {url: reason for url, reason in not_fetched.items() if url in pages}
    assert set(not_fetched) <= set(pages)
    assert all(entry["state"] in ("failed", "skipped") for entry in listed)


async def _run_if_done(tenant: Tenant, run_id: str) -> dict[str, Any] | None:
    run: dict[str, Any] = (await tenant.client.get(f"/v1/runs/{run_id}")).json()
    return run if run["status"] == "completed" else None


async def _all_urls(tenant: Tenant, run_id: str, *, status: list[str]) -> list[dict[str, Any]]:
    """Every page of the listing, five URLs at a time, following the cursor."""
    entries: list[dict[str, Any]] = []
    params: dict[str, Any] = {"status": status, "limit": 5}
    while True:
        reply = await tenant.client.get(f"/v1/runs/{run_id}/pages", params=params)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        entries += page["urls"]
        if page["next_cursor"] is None:
            return entries
        params["cursor"] = page["next_cursor"]
