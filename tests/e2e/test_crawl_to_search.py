"""The crawler and the extractor together on the fixture site: every page the crawler
publishes gets exactly one extractor outcome, and what it stored (gzipped HTML in other
charsets, a PDF) comes out as searchable text."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.crawler.app import SPEC as CRAWLER
from services.extractor.app import SPEC as EXTRACTOR
from shared.config import Settings
from shared.events import ChunkIndexed, RunCompleted, TaskFailed
from shared.internal_api import INTERNAL_TOKEN_HEADER
from shared.search_api import INTERNAL_SEARCH_PATH
from shared.service import ServiceRuntime, running
from shared.topics import topic_for
from tests.integration.crawler.conftest import crawler_settings, start_crawl
from tests.sites.fixture_site import CP1251_TEXT, PDF_TEXT, FixtureSite
from tests.support import consume_all

pytestmark = pytest.mark.integration


async def test_every_crawled_page_is_extracted_once_and_searchable(settings: Settings) -> None:
    settings = crawler_settings(settings, allowed="127.0.0.2/32").model_copy(
        update={"qdrant_path": ":memory:", "index_poll_interval": 0.1, "outbox_poll_interval": 0.2}
    )
    crawler = ServiceRuntime(CRAWLER, settings, http_port=0)
    extractor = ServiceRuntime(EXTRACTOR, settings, http_port=0)
    async with FixtureSite(host="127.0.0.2", crawl_delay=0) as site, running([crawler, extractor]):
        crawl = await start_crawl(
            settings, {"seeds": [site.url("/")], "limits": {"max_pages": 500, "max_retries": 1}}
        )
        completed = await consume_all(settings, [topic_for(RunCompleted, settings.topic_prefix)], expected=1)
        published = json.loads(completed[0].value)["counters"]["pages_published"]
        outcomes = await consume_all(
            settings,
            [topic_for(ChunkIndexed, settings.topic_prefix), topic_for(TaskFailed, settings.topic_prefix)],
            expected=published,
            within=180,
        )
        indexed = [ChunkIndexed.model_validate_json(r.value) for r in outcomes if "chunk-indexed" in r.topic]
        failed = [
            TaskFailed.model_validate_json(r.value)
            for r in outcomes
            if "task-failed" in r.topic and json.loads(r.value)["service"] == "extractor"
        ]
        assert extractor.http is not None

        async def search(query: str, mode: str) -> list[dict[str, Any]]:
            async with httpx.AsyncClient(base_url=extractor.http.url, timeout=30) as client:  # type: ignore[union-attr]
                response = await client.post(
                    INTERNAL_SEARCH_PATH,
                    json={
                        "tenant_id": str(crawl.tenant_id),
                        "query": query,
                        "mode": mode,
                        "run_id": str(crawl.run_id),
                    },
                    headers={INTERNAL_TOKEN_HEADER: settings.internal_token},
                )
            assert response.status_code == 200, response.text
            hits: list[dict[str, Any]] = response.json()["hits"]
            return hits

        cyrillic = await search("французских булок", "keyword")
        report = await search("quarterly figures crawler tests", "hybrid")

    # One outcome per published page: nothing extracted twice, nothing left without an answer.
    assert len(indexed) + len(failed) == published
    assert len({event.url_hash for event in indexed}) == len(indexed)
    assert not failed, [event.error for event in failed]
    skipped = {event.skipped for event in indexed if event.chunk_count == 0}
    assert skipped <= {"not_text", "no_text", "unchanged"}
    assert sum(event.chunk_count for event in indexed) > 0
    # The cp1251 page was stored gzipped in its own charset and reads right.
    assert cyrillic and cyrillic[0]["url"].endswith("/intl/cp1251")
    assert CP1251_TEXT.split("!")[0] in cyrillic[0]["text"]
    # The PDF's text is found with its page number.
    pdf_hits = [hit for hit in report if hit["url"].endswith("/docs/report.pdf")]
    assert pdf_hits and PDF_TEXT.split(":")[0] in pdf_hits[0]["text"]
    assert pdf_hits[0]["metadata"].get("page") == 1
