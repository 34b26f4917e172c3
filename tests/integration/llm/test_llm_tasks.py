"""LLM tasks through the real llm service: a run's queries over its products, the cache, failures,
bulk retry, budgets, and a service with no endpoint configured."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import httpx
import pytest

from shared.config import Settings
from shared.events import LlmQuery, LlmTaskRequested, RunCancelled, RunDeleted
from shared.llm_api import LLM_SESSION_RETRY_PATH, LLM_SESSION_TASKS_PATH, LLM_SESSIONS_PATH, LLM_TASK_PATH
from shared.producer import publish_direct
from tests.integration.llm.conftest import QUERY_SCHEMA, Llm, publish_products, running_llm, start_run
from tests.sites.openai_server import FakeOpenAI
from tests.support import wait_until

pytestmark = pytest.mark.integration

QUERIES = [
    LlmQuery(name="summary", prompt="Summarise this product for a buyer.", output_schema=QUERY_SCHEMA),
    LlmQuery(name="audience", prompt="Who is this product for?", output_schema=None),
]
PRODUCTS = [
    {"name": "Copper kettle", "sku": "CK-1", "price": "51.77", "currency": "GBP", "confidence": 0.9},
    {"name": "Oak stool", "sku": "OS-2", "price": "80.00", "currency": "GBP", "confidence": 0.8},
]


async def _statuses(llm: Llm, run_id: UUID) -> dict[str, int]:
    rows = await llm.pool.fetch(
        "SELECT status, count(*) FROM llm_tasks WHERE run_id = $1 GROUP BY status", run_id
    )
    return {row["status"]: row["count"] for row in rows}


async def test_each_query_runs_over_each_product_and_a_second_run_costs_nothing(
    llm: Llm, fake_llm: FakeOpenAI
) -> None:
    tenant, job = uuid4(), uuid4()
    first = await llm.start_run(tenant_id=tenant, job_id=job, queries=QUERIES)
    await llm.products(tenant_id=tenant, job_id=job, run_id=first, products=PRODUCTS)
    done = await llm.completed(expected=4)
    assert len(done) == 4 and {event.run_id for event in done} == {first}
    assert sorted((event.query_name, event.product_hash) for event in done) == sorted(
        (query.name, f"hash-{product['sku']}") for query in QUERIES for product in PRODUCTS
    )
    assert all(event.prompt_tokens > 0 and not event.cached for event in done)
    assert len(fake_llm.requests) == 4
    summary = next(event for event in done if event.query_name == "summary")
    stored = json.loads(await llm.objects.get(summary.s3_output_path))
    assert stored["output"] == {"summary": "text", "score": 2} == summary.output
    assert summary.s3_output_path == f"tenants/{tenant}/llm/{summary.session_id}/{summary.task_id}.json"
    asked = fake_llm.requests[0]["messages"][-1]["content"]
    assert "Copper kettle" in asked or "Oak stool" in asked
    assert "confidence" not in asked  # what the product is, not how sure the extractor was

    # The same products in the job's next run: answered from the cache, no call, no token.
    second = await llm.start_run(tenant_id=tenant, job_id=job, queries=QUERIES)
    await llm.products(tenant_id=tenant, job_id=job, run_id=second, products=PRODUCTS)
    again = [event for event in await llm.completed(expected=8) if event.run_id == second]
    assert len(again) == 4 and all(event.cached for event in again)
    assert sum(event.prompt_tokens + event.completion_tokens for event in again) == 0
    assert len(fake_llm.requests) == 4

    # The same ItemExtracted again (a redelivery, or the page seen twice in a run) makes no task.
    await llm.products(tenant_id=tenant, job_id=job, run_id=second, products=PRODUCTS[:1])
    await wait_until(lambda: _statuses(llm, second), what="the run's tasks")
    assert await _statuses(llm, second) == {"completed": 4}

    sessions = (await llm.internal("GET", LLM_SESSIONS_PATH, tenant)).json()["sessions"]
    assert [session["run_id"] for session in sessions] == [str(second), str(first)]
    assert sessions[1]["tasks"] == {"completed": 4} and sessions[1]["prompt_tokens"] > 0
    tasks = (
        await llm.internal("GET", LLM_SESSION_TASKS_PATH.format(session_id=sessions[1]["id"]), tenant)
    ).json()
    task = (await llm.internal("GET", LLM_TASK_PATH.format(task_id=tasks["tasks"][0]["id"]), tenant)).json()
    async with httpx.AsyncClient() as client:
        output = (await client.get(task["output_url"])).json()
    assert output["task_id"] == task["id"]
    # Another tenant sees none of it.
    assert (await llm.internal("GET", LLM_SESSIONS_PATH, uuid4())).json()["sessions"] == []
    other = await llm.internal("GET", LLM_TASK_PATH.format(task_id=task["id"]), uuid4())
    assert other.status_code == 404


async def test_failures_are_recorded_retried_and_a_bulk_retry_runs_exactly_the_failed_tasks(
    llm: Llm, fake_llm: FakeOpenAI
) -> None:
    tenant, job = uuid4(), uuid4()
    # An outage: every try of the first two tasks fails (3 attempts each), then the endpoint is back.
    fake_llm.fail_next("500", "500", "500", "500", "500", "500")
    run = await llm.start_run(tenant_id=tenant, job_id=job, queries=QUERIES[:1])
    await llm.products(tenant_id=tenant, job_id=job, run_id=run, products=PRODUCTS)
    failed = await llm.failed(expected=2)
    assert {event.service for event in failed} == {"llm"} and len(failed) == 2
    assert all(event.attempts == 3 and event.error.startswith("server:") for event in failed)
    failures = await llm.pool.fetch("SELECT status, error_class, retry_count FROM failed_tasks ORDER BY id")
    assert len(failures) == 6 and {row["error_class"] for row in failures} == {"server"}
    assert sorted(row["retry_count"] for row in failures) == [0, 0, 1, 1, 2, 2]
    assert await _statuses(llm, run) == {"failed": 2}
    ledger = await llm.pool.fetchval("SELECT count(*) FROM llm_usage WHERE run_id = $1", run)
    assert ledger == 6  # every attempt, failed ones included

    session = (await llm.internal("GET", LLM_SESSIONS_PATH, tenant)).json()["sessions"][0]
    retried = await llm.internal("POST", LLM_SESSION_RETRY_PATH.format(session_id=session["id"]), tenant)
    assert retried.json() == {"retried": 2}
    done = await llm.completed(expected=2)
    assert len(done) == 2
    assert await _statuses(llm, run) == {"completed": 2}
    # Nothing left to retry: the completed tasks are not run again.
    again = await llm.internal("POST", LLM_SESSION_RETRY_PATH.format(session_id=session["id"]), tenant)
    assert again.json() == {"retried": 0}
    unknown = await llm.internal("POST", LLM_SESSION_RETRY_PATH.format(session_id=uuid4()), tenant)
    assert unknown.status_code == 404


async def test_a_rate_limited_endpoint_is_waited_for_and_a_refusal_fails_at_once(
    llm: Llm, fake_llm: FakeOpenAI
) -> None:
    tenant, job = uuid4(), uuid4()
    fake_llm.fail_next("429", "refusal")
    run = await llm.start_run(tenant_id=tenant, job_id=job, queries=QUERIES[:1])
    await llm.products(tenant_id=tenant, job_id=job, run_id=run, products=PRODUCTS)
    await wait_until(
        lambda: llm.pool.fetchval(
            "SELECT count(*) = 2 FROM llm_tasks WHERE run_id = $1 AND status IN ('completed', 'failed')", run
        ),
        within=60,
        what="both tasks ended",
    )
    classes = [row["error_class"] for row in await llm.pool.fetch("SELECT error_class FROM failed_tasks")]
    assert sorted(classes) == ["rate_limit", "refusal"]
    assert await _statuses(llm, run) == {"completed": 1, "failed": 1}


async def test_a_job_over_its_token_budget_fails_its_tasks_without_calling(
    llm: Llm, fake_llm: FakeOpenAI
) -> None:
    tenant, job = uuid4(), uuid4()
    run = await llm.start_run(tenant_id=tenant, job_id=job, queries=QUERIES[:1], llm_max_tokens=1)
    await llm.products(tenant_id=tenant, job_id=job, run_id=run, products=PRODUCTS[:1])
    await llm.completed(expected=1)  # the first call goes: nothing spent yet
    calls = len(fake_llm.requests)
    await llm.products(tenant_id=tenant, job_id=job, run_id=run, products=[PRODUCTS[1]])
    (failed,) = await llm.failed(expected=1)
    assert failed.error.startswith("budget:")
    assert len(fake_llm.requests) == calls


async def test_without_an_endpoint_tasks_wait_and_readiness_says_why(
    settings: Settings, object_store: object
) -> None:
    unconfigured = settings.model_copy(update={"s3_bucket": object_store.bucket, "llm_poll_seconds": 0.1})  # type: ignore[attr-defined]
    async with running_llm(unconfigured) as llm:
        tenant, job = uuid4(), uuid4()
        run = await llm.start_run(tenant_id=tenant, job_id=job, queries=QUERIES[:1])
        await llm.products(tenant_id=tenant, job_id=job, run_id=run, products=PRODUCTS[:1])
        await wait_until(
            lambda: llm.pool.fetchval("SELECT count(*) = 1 FROM llm_tasks WHERE run_id = $1", run),
            what="the task",
        )
        row = await llm.pool.fetchrow("SELECT status, waiting_reason FROM llm_tasks WHERE run_id = $1", run)
        assert row["status"] == "pending" and "TRAWL_LLM_URL" in row["waiting_reason"]
        assert llm.runtime.http is not None
        async with httpx.AsyncClient(base_url=llm.runtime.http.url) as client:
            ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert "TRAWL_LLM_URL" in ready.json()["notes"]["llm_endpoint"]

        # Cancelling the run stops what waits: nothing of it will be called.
        cancelled = RunCancelled(tenant_id=tenant, job_id=job, run_id=run, cancelled_at=datetime.now(UTC))
        await publish_direct(llm.settings, [cancelled], source="test")
        await wait_until(
            lambda: llm.pool.fetchval("SELECT status = 'failed' FROM llm_tasks WHERE run_id = $1", run),
            what="the waiting task stopped",
        )
        assert await llm.pool.fetchval("SELECT error_message FROM llm_tasks WHERE run_id = $1", run) == (
            "the run was cancelled"
        )


async def test_products_announced_before_their_runs_start_wait_for_its_queries(llm: Llm) -> None:
    tenant, job, run = uuid4(), uuid4(), uuid4()
    await publish_products(llm.settings, tenant_id=tenant, job_id=job, run_id=run, products=PRODUCTS)
    await wait_until(
        lambda: llm.pool.fetchval("SELECT count(*) = 2 FROM waiting_items WHERE run_id = $1", run),
        what="the products kept until their run is known",
    )
    await start_run(llm.settings, tenant_id=tenant, job_id=job, queries=QUERIES[:1], run_id=run)
    done = await llm.completed(expected=2)
    assert sorted(event.product_hash for event in done if event.run_id == run) == ["hash-CK-1", "hash-OS-2"]
    assert await llm.pool.fetchval("SELECT count(*) FROM waiting_items WHERE run_id = $1", run) == 0


async def test_a_deleted_runs_outputs_leave_s3_but_those_a_later_runs_cache_hits_share_stay(
    llm: Llm,
) -> None:
    tenant, job = uuid4(), uuid4()
    first = await llm.start_run(tenant_id=tenant, job_id=job, queries=QUERIES[:1])
    await llm.products(tenant_id=tenant, job_id=job, run_id=first, products=PRODUCTS)
    first_paths = {event.s3_output_path for event in await llm.completed(expected=2)}
    # The next run: one product unchanged (answered from the cache, sharing its output), one new.
    second = await llm.start_run(tenant_id=tenant, job_id=job, queries=QUERIES[:1])
    changed = {**PRODUCTS[1], "sku": "OS-3", "name": "Oak bench"}
    await llm.products(tenant_id=tenant, job_id=job, run_id=second, products=[PRODUCTS[0], changed])
    done = [event for event in await llm.completed(expected=4) if event.run_id == second]
    (shared_path,) = {event.s3_output_path for event in done if event.cached}
    (own_path,) = {event.s3_output_path for event in done if not event.cached}
    assert shared_path in first_paths

    async def stored(paths: set[str]) -> set[str]:
        return {path for path in paths if await llm.objects.exists(path)}

    await _delete(llm, tenant, job, first)
    await wait_until(
        lambda: llm.pool.fetchval("SELECT count(*) = 0 FROM llm_tasks WHERE run_id = $1", first),
        what="the first run's tasks gone",
    )
    assert await stored(first_paths) == {shared_path}  # still the second run's answer
    await _delete(llm, tenant, job, second)
    await wait_until(
        lambda: llm.pool.fetchval("SELECT count(*) = 0 FROM llm_tasks WHERE run_id = $1", second),
        what="the second run's tasks gone",
    )
    assert await stored(first_paths | {own_path}) == set()


async def _delete(llm: Llm, tenant: UUID, job: UUID, run: UUID) -> None:
    deleted = RunDeleted(tenant_id=tenant, job_id=job, run_id=run, deleted_at=datetime.now(UTC))
    await publish_direct(llm.settings, [deleted], source="test")


async def test_a_request_carrying_its_input_asks_it_as_it_is_and_the_same_input_costs_nothing_twice(
    llm: Llm, fake_llm: FakeOpenAI
) -> None:
    tenant, job, run = uuid4(), uuid4(), uuid4()
    session = uuid4()
    hit = {
        "url": "https://harbour.example/seals",
        "title": "Harbour seals",
        "text": "Seals rest on the pier.",
    }
    asks = [
        LlmTaskRequested(
            tenant_id=tenant,
            job_id=job,
            run_id=run,
            request_id=uuid4(),
            kind="on_demand",
            requested_by="api",
            session_id=session,
            input_s3_key="",
            input_content_hash="",
            input=hit,
            prompt="Is this about animals?",
            output_schema=QUERY_SCHEMA,
        )
        for _ in range(2)  # two requests (say, the same hit of two searches): one call
    ]
    await publish_direct(llm.settings, asks[:1], source="test")
    (first,) = await llm.completed(expected=1)
    await publish_direct(llm.settings, asks[1:], source="test")
    done = await llm.completed(expected=2)
    assert {event.request_id for event in done} == {ask.request_id for ask in asks}
    assert all(event.session_id == session and event.kind == "on_demand" for event in done)
    assert [event.cached for event in done] == [False, True] and first.output == {
        "summary": "text",
        "score": 2,
    }
    (request,) = fake_llm.requests
    asked = request["messages"][-1]["content"]
    assert asked.startswith("Is this about animals?") and "Seals rest on the pier." in asked
