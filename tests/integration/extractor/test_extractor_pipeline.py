"""Pages and uploads through the real extractor: documents, chunks, points, outcome events."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer

from services.extractor.vectors.points import VectorFilter
from shared.envelope import Envelope
from shared.events import PageFetched
from shared.search_api import SearchMode
from shared.topics import topic_for
from tests.fixtures.extractor.pdf import make_pdf
from tests.integration.extractor.conftest import Extractor

pytestmark = pytest.mark.integration

PAGES = Path(__file__).parents[2] / "fixtures" / "extractor" / "pages"


async def test_every_page_and_upload_gets_one_outcome_and_indexed_chunks_match_points(
    extractor: Extractor,
) -> None:
    tenant, run, job = uuid4(), uuid4(), uuid4()
    common = {"tenant_id": tenant, "run_id": run, "job_id": job}
    article = await extractor.page((PAGES / "article.html").read_bytes(), url="https://c.example/a", **common)
    pdf = await extractor.page(
        make_pdf(["Pump manual\nPrime the pump before use.", "Warranty\nTwo years on parts."]),
        url="https://c.example/manual.pdf",
        content_type="application/pdf",
        **common,
    )
    image = await extractor.page(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00", url="https://c.example/x.png", content_type="image/png", **common
    )
    broken = await extractor.page(
        b"%PDF-1.4 broken", url="https://c.example/b.pdf", content_type="application/pdf", **common
    )
    upload = await extractor.upload(
        b"# Field notes\n\nThe heron waited by the weir.",
        tenant_id=tenant,
        run_id=run,
        filename="notes.md",
        content_type="text/markdown",
    )
    await extractor.publish([article, pdf, image, broken, upload])
    indexed, failed = await extractor.outcomes(expected=5)

    by_document = {event.url or str(event.document_id): event for event in indexed}
    assert len(indexed) == 4 and len(failed) == 1
    assert by_document["https://c.example/x.png"].skipped == "not_text"
    assert by_document["https://c.example/x.png"].chunk_count == 0
    assert (
        by_document["https://c.example/a"].chunk_count > 0
        and by_document["https://c.example/a"].skipped is None
    )
    assert by_document["https://c.example/a"].url_hash == article.url_hash
    assert by_document[str(upload.document_id)].chunk_count == 1
    assert failed[0].service == "extractor" and failed[0].task_kind == "extract"
    assert (
        failed[0].ids["url_hash"] == broken.url_hash and failed[0].run_id == run and "PDF" in failed[0].error
    )

    pool = extractor.pool
    chunk_rows = await pool.fetch(
        """SELECT c.*, d.document_type FROM chunks c JOIN documents d ON d.id = c.document_id
            WHERE c.tenant_id = $1 ORDER BY d.document_type, c.chunk_index""",
        tenant,
    )
    assert chunk_rows and all(row["indexed_at"] is not None and row["search_vector"] for row in chunk_rows)
    pdf_pages = [row["metadata"]["page"] for row in chunk_rows if row["document_type"] == "pdf"]
    assert pdf_pages == [1, 2]
    points = await extractor.pipeline.vectors.count(VectorFilter(tenant, run_id=run))
    assert points == len(chunk_rows)
    documents = await pool.fetch(
        "SELECT status, skipped, search_vector FROM documents WHERE tenant_id = $1", tenant
    )
    assert sorted((row["status"], row["skipped"]) for row in documents) == [
        ("failed", None),
        ("indexed", None),
        ("indexed", None),
        ("indexed", None),
        ("skipped", "not_text"),
    ]
    title = await pool.fetchval(
        "SELECT title FROM documents WHERE tenant_id = $1 AND url = 'https://c.example/a'", tenant
    )
    assert title == "How lighthouses work"

    # The next run of the same job fetches the article unchanged: skipped, nothing re-indexed.
    again = article.model_copy(update={"run_id": uuid4(), "url_hash": article.url_hash})
    await extractor.publish([again])
    indexed, _ = await extractor.outcomes(expected=6)
    latest = [event for event in indexed if event.run_id == again.run_id]
    assert [(event.skipped, event.chunk_count) for event in latest] == [("unchanged", 0)]


async def test_the_same_page_delivered_three_times_is_indexed_once(extractor: Extractor) -> None:
    tenant = uuid4()
    page = await extractor.page(
        (PAGES / "article.html").read_bytes(),
        tenant_id=tenant,
        run_id=uuid4(),
        job_id=uuid4(),
        url="https://d.example/",
    )
    headers = Envelope.new(
        source="crawler", type=PageFetched.type_name(), subject=str(page.run_id), tenant_id=tenant
    ).to_headers()
    producer = AIOKafkaProducer(bootstrap_servers=extractor.settings.kafka)
    await producer.start()
    try:
        for _ in range(3):
            await producer.send_and_wait(
                topic_for(PageFetched, extractor.settings.topic_prefix),
                page.model_dump_json().encode(),
                key=page.url_hash.encode(),
                headers=headers,
            )
    finally:
        await producer.stop()
    await extractor.settled()
    indexed, _ = await extractor.outcomes(expected=1)
    assert len(indexed) == 1
    chunks = await extractor.pool.fetchval("SELECT count(*) FROM chunks WHERE tenant_id = $1", tenant)
    assert indexed[0].chunk_count == chunks > 0
    assert await extractor.pipeline.vectors.count(VectorFilter(tenant)) == chunks


async def test_the_same_page_published_twice_in_a_run_is_answered_twice_and_indexed_once(
    extractor: Extractor,
) -> None:
    """Two publications (two event ids) of one page: ingest counts both, so both are answered."""
    tenant = uuid4()
    page = await extractor.page(
        (PAGES / "article.html").read_bytes(),
        tenant_id=tenant,
        run_id=uuid4(),
        job_id=uuid4(),
        url="https://twice.example/",
    )
    await extractor.publish([page])
    await extractor.outcomes(expected=1)
    await extractor.publish([page])  # a new envelope: another event id
    indexed, failed = await extractor.outcomes(expected=2)
    assert not failed
    assert sorted(event.skipped or "" for event in indexed) == ["", "repeated"]
    chunks = await extractor.pool.fetchval("SELECT count(*) FROM chunks WHERE tenant_id = $1", tenant)
    assert [event.chunk_count for event in indexed if not event.skipped] == [chunks]
    assert await extractor.pipeline.vectors.count(VectorFilter(tenant)) == chunks


async def test_search_never_crosses_tenants_in_any_mode(extractor: Extractor) -> None:
    tenant_a, tenant_b = uuid4(), uuid4()
    body = (PAGES / "article.html").read_bytes()
    a = await extractor.page(
        body, tenant_id=tenant_a, run_id=uuid4(), job_id=uuid4(), url="https://a.example/l"
    )
    b_text = (
        b"# Lighthouse keeping\n\nThe Fresnel lens of our lighthouse was cleaned by the keeper every morning."
    )
    b = await extractor.upload(
        b_text, tenant_id=tenant_b, run_id=uuid4(), filename="keeper.md", content_type="text/markdown"
    )
    await extractor.publish([a, b])
    await extractor.outcomes(expected=2)

    for mode in SearchMode:
        for tenant, run in ((tenant_a, a.run_id), (tenant_b, b.run_id)):
            response = await extractor.search(
                {
                    "tenant_id": str(tenant),
                    "query": "Fresnel lens lighthouse",
                    "mode": mode.value,
                    "limit": 20,
                }
            )
            assert response.status_code == 200, response.text
            hits = response.json()["hits"]
            assert hits, (mode, tenant)
            assert {hit["run_id"] for hit in hits} == {str(run)}
    hybrid = (await extractor.search({"tenant_id": str(tenant_b), "query": "Fresnel lens cleaned"})).json()
    top = hybrid["hits"][0]
    assert "<mark>" in top["snippet"] and top["title"] == "Lighthouse keeping"
    assert (
        top["vector_rank"] == 1
        and top["keyword_rank"] == 1
        and top["metadata"]["headings"] == ["Lighthouse keeping"]
    )

    assert (
        await extractor.search({"tenant_id": str(tenant_a), "query": "x"}, token="wrong")
    ).status_code == 401
    bad = await extractor.search({"tenant_id": "not-a-uuid", "query": ""})
    assert bad.status_code == 422 and "tenant_id" in bad.json()["detail"]


async def test_a_page_crawled_by_two_jobs_is_found_once_in_its_latest_version(extractor: Extractor) -> None:
    tenant, first_run, second_run = uuid4(), uuid4(), uuid4()
    url = "https://tides.example/harbour"

    def page(version: str) -> bytes:
        return (
            f"<html><head><title>Harbour tides</title></head><body><article><h1>Harbour tides</h1>"
            f"<p>The harbour tide tables for the spring season, {version}. High water comes an hour "
            "after the moon crosses the meridian, and the bar is safe on the flood.</p>"
            "</article></body></html>"
        ).encode()

    pages = [
        await extractor.page(
            page("first edition"), tenant_id=tenant, run_id=first_run, job_id=uuid4(), url=url
        ),
        await extractor.page(
            page("revised edition"), tenant_id=tenant, run_id=second_run, job_id=uuid4(), url=url
        ),
    ]
    await extractor.publish(pages[:1])
    await extractor.outcomes(expected=1)
    await extractor.publish(pages[1:])
    await extractor.outcomes(expected=2)
    await extractor.settled()

    async def hits(**filters: object) -> list[dict[str, object]]:
        body = {"tenant_id": str(tenant), "query": "harbour tide tables", "mode": "hybrid", **filters}
        response = await extractor.search(body)
        assert response.status_code == 200, response.text
        found: list[dict[str, object]] = response.json()["hits"]
        return found

    latest = await hits()
    assert [(hit["url"], hit["run_id"]) for hit in latest] == [(url, str(second_run))]
    assert "revised edition" in str(latest[0]["text"])
    of_the_first_run = await hits(run_id=str(first_run))
    assert [(hit["url"], hit["run_id"]) for hit in of_the_first_run] == [(url, str(first_run))]
    every_version = await hits(distinct_urls=False)
    assert sorted(str(hit["run_id"]) for hit in every_version) == sorted([str(first_run), str(second_run)])


async def test_a_document_s_markdown_is_stored_and_announced(extractor: Extractor) -> None:
    tenant = uuid4()
    page = await extractor.page(
        (PAGES / "article.html").read_bytes(),
        tenant_id=tenant,
        run_id=uuid4(),
        job_id=uuid4(),
        url="https://m.example/",
    )
    await extractor.publish([page])
    (indexed,), _ = await extractor.outcomes(expected=1)
    assert indexed.markdown_key is not None and indexed.markdown_key.startswith(f"tenants/{tenant}/markdown/")
    assert indexed.title and indexed.document_type == "html"
    markdown = (await extractor.objects.get(indexed.markdown_key)).decode()
    chunks = await extractor.pool.fetch("SELECT text FROM chunks WHERE document_id = $1", indexed.document_id)
    assert chunks and all(row["text"].split()[0] in markdown for row in chunks)
    assert indexed.title in markdown
