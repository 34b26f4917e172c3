"""Runs through the real API: idempotent starts, progress from other services' events, SSE,
cancel, delete, uploads, quotas, rate limits, validation and the audit log."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from shared.events import (
    ChunkIndexed,
    CrawlProgress,
    DocumentUploaded,
    Event,
    JobCreated,
    PageFetched,
    RunCancelled,
    RunCompleted,
    RunDeleted,
    RunStatus,
    TaskFailed,
)
from shared.producer import publish_direct
from shared.s3 import ObjectStore
from shared.topics import topic_for
from tests.integration.ingest.conftest import Api, Tenant, start_api
from tests.support import consume_all, wait_until

pytestmark = pytest.mark.integration

JOB = {"name": "site", "seeds": ["https://example.com/"], "limits": {"max_pages": 5}}


async def _job_and_run(tenant: Tenant, **headers: str) -> tuple[dict[str, Any], dict[str, Any]]:
    job = (await tenant.client.post("/v1/jobs", json=JOB)).json()
    run = await tenant.client.post(f"/v1/jobs/{job['id']}/runs", headers=headers)
    assert run.status_code == 201, run.text
    return job, run.json()


def _payloads(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(record.value) for record in records]


async def test_twenty_concurrent_starts_with_one_key_make_one_run(api: Api) -> None:
    acme = await api.tenant()
    job = (await acme.client.post("/v1/jobs", json=JOB)).json()
    answers = await asyncio.gather(
        *(
            acme.client.post(f"/v1/jobs/{job['id']}/runs", headers={"Idempotency-Key": "nightly-1"})
            for _ in range(20)
        )
    )
    assert sorted(answer.status_code for answer in answers) == [200] * 19 + [201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    by_body = await acme.client.post(f"/v1/jobs/{job['id']}/runs", json={"idempotency_key": "nightly-1"})
    assert by_body.status_code == 200 and by_body.json()["id"] == answers[0].json()["id"]
    created = await consume_all(
        api.runtime.settings, [topic_for(JobCreated, api.runtime.settings.topic_prefix)], expected=1
    )
    assert [payload["run_id"] for payload in _payloads(created)] == [answers[0].json()["id"]]

    same_jobs = await asyncio.gather(
        *(acme.client.post("/v1/jobs", json=JOB, headers={"Idempotency-Key": "job-1"}) for _ in range(5))
    )
    assert sorted(answer.status_code for answer in same_jobs) == [200] * 4 + [201]
    assert len({answer.json()["id"] for answer in same_jobs}) == 1
    other_job = (await acme.client.post("/v1/jobs", json=JOB)).json()
    reused = await acme.client.post(
        f"/v1/jobs/{other_job['id']}/runs", headers={"Idempotency-Key": "nightly-1"}
    )
    assert reused.status_code == 409


def _page(tenant_id: UUID, job_id: UUID, run_id: UUID, n: int) -> PageFetched:
    return PageFetched(
        tenant_id=tenant_id,
        job_id=job_id,
        run_id=run_id,
        url=f"https://example.com/{n}",
        final_url=f"https://example.com/{n}",
        url_hash=f"h{n}",
        status=200,
        content_type="text/html",
        content_hash=f"c{n}",
        s3_key=f"raw/c{n}",
        size=100,
        depth=1,
        fetched_at=datetime.now(UTC),
    )


def _indexed(tenant_id: UUID, job_id: UUID | None, run_id: UUID, chunks: int) -> ChunkIndexed:
    return ChunkIndexed(
        tenant_id=tenant_id,
        job_id=job_id,
        run_id=run_id,
        document_id=uuid4(),
        chunk_count=chunks,
        embedding_model="test",
        indexed_at=datetime.now(UTC),
    )


async def test_progress_follows_the_other_services_events_until_the_run_completes(api: Api) -> None:
    acme = await api.tenant()
    job, run = await _job_and_run(acme)
    tenant, job_id, run_id = acme.id, UUID(job["id"]), UUID(run["id"])
    settings = api.runtime.settings
    events: list[Event] = [_page(tenant, job_id, run_id, n) for n in range(3)]
    events += [
        CrawlProgress(
            tenant_id=tenant,
            job_id=job_id,
            run_id=run_id,
            pages_crawled=3,
            pages_failed=1,
            pages_skipped=0,
            pages_total=9,
            current_depth=1,
            in_flight=0,
            reported_at=datetime.now(UTC),
        ),
        _indexed(tenant, job_id, run_id, 4),
        _indexed(tenant, job_id, run_id, 2),
        RunCompleted(
            tenant_id=tenant,
            job_id=job_id,
            run_id=run_id,
            service="crawler",
            status=RunStatus.COMPLETED,
            counters={"pages_published": 3},
            completed_at=datetime.now(UTC),
        ),
    ]
    await publish_direct(settings, events)

    async with acme.client.stream("GET", f"/v1/runs/{run_id}/events") as stream:
        seen: list[tuple[str, dict[str, Any]]] = []
        name = ""
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                seen.append((name, json.loads(line.removeprefix("data: "))))
                if name == "end":
                    break
                if seen[-1][0] == "progress" and seen[-1][1]["progress"]["extractor_outcomes"] == 2:
                    # the crawler said 3 pages: the run waits for the third outcome
                    assert seen[-1][1]["status"] == "running"
                    failed = TaskFailed(
                        tenant_id=tenant,
                        service="extractor",
                        task_kind="extract",
                        job_id=job_id,
                        run_id=run_id,
                        error="no text",
                        attempts=1,
                        failed_at=datetime.now(UTC),
                    )
                    await publish_direct(settings, [failed])
    assert seen[-1] == ("end", {"status": "completed"})
    final = (await acme.client.get(f"/v1/runs/{run_id}")).json()
    assert final["status"] == "completed" and final["finished_at"] is not None
    progress = final["progress"]
    assert (progress["pages_fetched"], progress["pages_failed"], progress["pages_total"]) == (3, 1, 9)
    assert (progress["documents_indexed"], progress["chunks_indexed"], progress["errors"]) == (2, 6, 1)
    assert (progress["pages_published"], progress["extractor_outcomes"]) == (3, 3)
    completed = await consume_all(settings, [topic_for(RunCompleted, settings.topic_prefix)], expected=2)
    assert [(p["service"], p["status"]) for p in _payloads(completed) if p["service"] == "ingest"] == [
        ("ingest", "completed")
    ]
    usage = (await acme.client.get("/v1/usage")).json()
    assert usage["pages_fetched"] == 3


async def test_cancel_and_delete_announce_themselves(api: Api) -> None:
    acme = await api.tenant()
    _, run = await _job_and_run(acme)
    cancelled = await acme.client.post(f"/v1/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await acme.client.post(f"/v1/runs/{run['id']}/cancel")).status_code == 200
    assert (await acme.client.delete(f"/v1/runs/{run['id']}")).status_code == 204
    assert (await acme.client.get(f"/v1/runs/{run['id']}")).status_code == 404
    settings = api.runtime.settings
    topics = [topic_for(RunCancelled, settings.topic_prefix), topic_for(RunDeleted, settings.topic_prefix)]
    announced = await consume_all(settings, topics, expected=2)
    assert sorted(record.topic for record in announced) == sorted(topics)
    assert {payload["run_id"] for payload in _payloads(announced)} == {run["id"]}


async def test_uploads_go_to_s3_and_out_as_document_uploaded(api: Api) -> None:
    acme = await api.tenant()
    files = [
        ("files", ("notes.md", b"# Tides\nThe tide turns twice a day.", "application/octet-stream")),
        ("files", ("page.html", b"<html><body><p>Harbour</p></body></html>", "text/html")),
    ]
    answer = await acme.client.post("/v1/uploads", files=files, headers={"Idempotency-Key": "up-1"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert [doc["content_type"] for doc in body["documents"]] == ["text/markdown", "text/html"]
    assert all(doc["s3_key"].startswith(f"tenants/{acme.id}/uploads/") for doc in body["documents"])
    again = await acme.client.post("/v1/uploads", files=files, headers={"Idempotency-Key": "up-1"})
    assert again.json()["run"]["id"] == body["run"]["id"]

    settings = api.runtime.settings
    uploaded = _payloads(
        await consume_all(settings, [topic_for(DocumentUploaded, settings.topic_prefix)], expected=2)
    )
    assert sorted(p["filename"] for p in uploaded) == ["notes.md", "page.html"]
    assert {p["source_type"] for p in uploaded} == {"upload"}
    async with ObjectStore.from_settings(settings) as objects:
        assert await objects.get(uploaded[0]["s3_key"]) in {files[0][1][1], files[1][1][1]}

    run_id = UUID(body["run"]["id"])
    await publish_direct(settings, [_indexed(acme.id, None, run_id, 1) for _ in range(2)])
    done = await wait_until(lambda: _status_if(acme, run_id, "completed"), within=30)
    assert done

    unsupported = await acme.client.post(
        "/v1/uploads", files=[("files", ("x.exe", b"MZ", "application/x-msdownload"))]
    )
    assert unsupported.status_code == 415


async def _status_if(tenant: Tenant, run_id: UUID, status: str) -> bool:
    return bool((await tenant.client.get(f"/v1/runs/{run_id}")).json()["status"] == status)


async def test_an_oversized_upload_is_a_clear_413(api: Api) -> None:
    small = api.runtime.settings.model_copy(update={"upload_max_bytes": 1000})
    runtime, limited = await start_api(small)
    try:
        acme = await limited.tenant()
        answer = await acme.client.post(
            "/v1/uploads", files=[("files", ("big.txt", b"x" * 5000, "text/plain"))]
        )
        assert answer.status_code == 413
        assert "5,000 bytes; the limit is 1,000" in answer.json()["detail"]
        files = [("files", (f"part{n}.txt", b"x" * 900, "text/plain")) for n in range(120)]
        whole = await acme.client.post("/v1/uploads", files=files)
        assert whole.status_code == 413 and "at most 100,000 are accepted" in whole.json()["detail"]
    finally:
        for client in limited.clients:
            await client.aclose()
        await runtime.stop()


async def test_quotas_are_checked_when_a_run_starts(api: Api) -> None:
    broke = await api.tenant("broke", quota_pages_monthly=0)
    job = (await broke.client.post("/v1/jobs", json=JOB)).json()
    refused = await broke.client.post(f"/v1/jobs/{job['id']}/runs")
    assert refused.status_code == 402
    assert "quota" in refused.json()["detail"]
    assert (await broke.client.get("/v1/runs")).json() == []

    busy = await api.tenant("busy", max_active_runs=1)
    await _job_and_run(busy)
    job = (await busy.client.post("/v1/jobs", json=JOB)).json()
    assert (await busy.client.post(f"/v1/jobs/{job['id']}/runs")).status_code == 429


async def test_job_validation_names_every_problem(api: Api) -> None:
    acme = await api.tenant()
    bad = {
        "seeds": ["notaurl"],
        "schedule_cron": "every day at nine",
        "timezone": "Mars/Olympus",
        "limits": {"max_pages": 0},
    }
    answer = await acme.client.post("/v1/jobs", json=bad)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    fields = {error["field"] for error in answer.json()["errors"]}
    assert "limits.max_pages" in fields
    answer = await acme.client.post("/v1/jobs", json={**bad, "limits": {}})
    detail = answer.json()["detail"]
    assert "seeds.0" in detail
    answer = await acme.client.post(
        "/v1/jobs", json={**JOB, "schedule_cron": "every day", "timezone": "Mars/Olympus"}
    )
    assert "schedule.cron" in answer.json()["detail"] and "schedule.timezone" in answer.json()["detail"]
    assert (
        (await acme.client.post("/v1/jobs", json={}))
        .json()["detail"]
        .endswith("a job needs at least one seed URL or one keyword")
    )
    scheduled = await acme.client.post(
        "/v1/jobs", json={**JOB, "schedule_cron": "0 6 * * 1-5", "timezone": "Europe/Berlin"}
    )
    assert scheduled.status_code == 201 and scheduled.json()["next_fire_at"] is not None


async def test_extractor_schemas_are_json_schema_and_public_ones_are_shared_read_only(api: Api) -> None:
    acme, other = await api.tenant("acme"), await api.tenant("other")
    invalid = await acme.client.post(
        "/v1/extractor-schemas", json={"name": "p", "definition": {"type": "nope"}}
    )
    assert invalid.status_code == 422 and "not a valid JSON Schema" in invalid.json()["detail"]
    definition = {"type": "object", "properties": {"price": {"type": "number"}}}
    public = (
        await acme.client.post(
            "/v1/extractor-schemas", json={"name": "product", "definition": definition, "is_public": True}
        )
    ).json()
    private = (
        await acme.client.post("/v1/extractor-schemas", json={"name": "secret", "definition": definition})
    ).json()
    assert (await other.client.get(f"/v1/extractor-schemas/{public['id']}")).json()["owned"] is False
    assert (await other.client.get(f"/v1/extractor-schemas/{private['id']}")).status_code == 404
    assert (await other.client.delete(f"/v1/extractor-schemas/{public['id']}")).status_code == 403
    job = await other.client.post("/v1/jobs", json={**JOB, "extractor_schema_id": public["id"]})
    assert job.status_code == 201
    assert job.json()["config"]["extractor_schema"]["definition"] == definition
    hidden = await other.client.post("/v1/jobs", json={**JOB, "extractor_schema_id": private["id"]})
    assert hidden.status_code == 422


async def test_rate_limit_per_key_answers_429_with_retry_after(api: Api) -> None:
    # A token comes back every 1,000 s: however slow the machine, the fourth call finds none.
    strict = api.runtime.settings.model_copy(update={"rate_limit_burst": 3, "rate_limit_per_second": 0.001})
    runtime, limited = await start_api(strict)
    try:
        acme = await limited.tenant()
        codes = [(await acme.client.get("/v1/me")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited_answer = await acme.client.get("/v1/me")
        assert int(limited_answer.headers["retry-after"]) >= 1
        second_key = (await limited.tenant("other")).client
        assert (await second_key.get("/v1/me")).status_code == 200  # buckets are per key
    finally:
        for client in limited.clients:
            await client.aclose()
        await runtime.stop()


async def test_every_mutating_call_is_audited_without_secrets(api: Api) -> None:
    acme = await api.tenant()
    created = await acme.client.post(
        "/v1/projects", json={"name": "p"}, headers={"User-Agent": "audit-test", "X-Request-ID": "req-42"}
    )
    assert created.headers["x-request-id"] == "req-42"
    await acme.client.get("/v1/projects")  # reads are not audited
    log = await wait_until(lambda: _audit_entries(acme), what="audit entries")
    assert [entry["action"] for entry in log] == ["POST /v1/projects"]
    assert (
        log[0]["request_id"] == "req-42" and log[0]["user_agent"] == "audit-test" and log[0]["status"] == 201
    )
    assert acme.key not in json.dumps(log)


async def _audit_entries(tenant: Tenant) -> list[dict[str, Any]]:
    reply = await tenant.client.get("/v1/audit")
    assert reply.status_code == 200, reply.text
    entries: list[dict[str, Any]] = reply.json()
    return entries
