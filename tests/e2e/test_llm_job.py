"""Jobs using the llm service end to end through the public API, against a local
OpenAI-compatible server: a query over every product a crawl finds (the session and its tasks
readable, outputs downloadable, tokens in the tenant's usage), and a schema job whose records
the rules leave incomplete, completed by the model."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import uuid4

import httpx
import pytest
from pydantic import SecretStr

from shared.config import Settings
from tests.e2e.stack import public_api
from tests.sites.openai_server import FakeOpenAI
from tests.sites.shop_site import PRODUCTS, ShopSite
from tests.support import wait_until
from trawl.api_commands import bootstrap_tenant
from trawl.client import TrawlClient
from trawl.crawling import follow
from trawl.demo import demo_settings

pytestmark = pytest.mark.integration

QUERY = {
    "name": "pitch",
    "prompt": "Write a one-line sales pitch for this product.",
    "output_schema": {
        "type": "object",
        "properties": {"pitch": {"type": "string"}},
        "required": ["pitch"],
        "additionalProperties": False,
    },
}


async def test_a_jobs_query_runs_over_every_product_it_finds(settings: Settings) -> None:
    async with _shop_and_model(settings) as shop:
        site, client, http, api, wired = shop.site, shop.client, shop.http, shop.api, shop.wired
        job = await client.create_job(
            {
                "name": "pitches",
                "seeds": [site.url("/shop?page=1")],
                "pagination": {"type": "next_button", "next_selector": "a.next"},
                "llm_queries": [QUERY],
                "limits": {"max_pages": 50, "max_depth": 3},
            }
        )
        run = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
        assert run["status"] == "completed", run

        async def all_answered() -> bool:
            listed = (await http.get("/v1/llm/sessions")).json()["sessions"]
            return bool(listed) and listed[0]["tasks"].get("completed") == len(PRODUCTS)

        await wait_until(all_answered, within=90, interval=0.5, what="every product's task")
        (session,) = (await http.get("/v1/llm/sessions")).json()["sessions"]
        assert session["run_id"] == run["id"] and session["prompt_tokens"] > 0
        tasks = (await http.get(f"/v1/llm/sessions/{session['id']}/tasks")).json()["tasks"]
        assert sorted(task["product_name"] for task in tasks) == sorted(p.name for p in PRODUCTS)
        assert {task["query_name"] for task in tasks} == {"pitch"}
        one = (await http.get(f"/v1/llm/tasks/{tasks[0]['id']}")).json()
        async with httpx.AsyncClient() as anyone:
            output = (await anyone.get(one["output_url"])).json()
        assert output["output"] == {"pitch": "text"}
        failed = await http.get(f"/v1/llm/sessions/{session['id']}/tasks", params={"status": "failed"})
        assert failed.json()["tasks"] == []
        assert (await http.post(f"/v1/llm/sessions/{session['id']}/retry")).json() == {"retried": 0}
        usage = (await http.get("/v1/usage")).json()
        assert usage["tokens"] == session["prompt_tokens"] + session["completion_tokens"]
        # Credits at the default rates: one a page fetched, one a thousand tokens.
        assert usage["credits_charged"] == round(usage["pages_fetched"] + usage["tokens"] / 1000, 4)
        charged = (await client.run(run["id"]))["progress"]
        assert charged["credits_charged"] == round(charged["pages_fetched"] + charged["tokens"] / 1000, 4)
        assert charged["tokens"] == usage["tokens"]

        # A user's own question over the run's documents: a session of its own, one task a page.
        ask = {"run_id": run["id"], "prompt": "Is this page about a product? Answer yes or no.", "limit": 100}
        asked = await http.post("/v1/llm/tasks", json=ask, headers={"Idempotency-Key": "ask-1"})
        assert asked.status_code == 202, asked.text
        again = await http.post("/v1/llm/tasks", json=ask, headers={"Idempotency-Key": "ask-1"})
        assert again.json() == asked.json()  # the same request: the same session and tasks
        documents = asked.json()["requested"]
        assert documents >= len(PRODUCTS)

        async def ask_answered() -> bool:
            listed = await http.get(
                f"/v1/llm/sessions/{asked.json()['session_id']}/tasks", params={"limit": 500}
            )
            return (
                listed.status_code == 200
                and sum(task["status"] == "completed" for task in listed.json()["tasks"]) == documents
            )

        await wait_until(ask_answered, within=90, interval=0.5, what="every document's answer")
        on_demand = next(
            s
            for s in (await http.get("/v1/llm/sessions")).json()["sessions"]
            if s["id"] == asked.json()["session_id"]
        )
        assert on_demand["kind"] == "on_demand" and on_demand["tasks"] == {"completed": documents}
        bad = await http.post("/v1/llm/tasks", json=ask | {"output_schema": {"type": "array"}})
        assert bad.status_code == 422

        other = await bootstrap_tenant(wired, "other", "other@localhost")
        stranger = {"Authorization": f"Bearer {other.key.plaintext}"}
        async with httpx.AsyncClient(base_url=api, headers=stranger, timeout=30) as outsider:
            assert (await outsider.get("/v1/llm/sessions")).json()["sessions"] == []
            assert (await outsider.get(f"/v1/llm/tasks/{tasks[0]['id']}")).status_code == 404
            assert (await outsider.post(f"/v1/llm/sessions/{session['id']}/retry")).status_code == 404
            assert (await outsider.get(f"/v1/llm/sessions/{uuid4()}/tasks")).status_code == 404
            foreign = await outsider.post("/v1/llm/tasks", json=ask)
            assert foreign.status_code == 404  # another tenant's run


async def test_a_users_task_runs_over_a_runs_items_and_the_hits_of_a_search_within_it(
    settings: Settings,
) -> None:
    async with _shop_and_model(settings) as shop:
        site, model, client, http = shop.site, shop.model, shop.client, shop.http
        job = await client.create_job(
            {
                "name": "lanterns",
                "seeds": [site.url("/shop?page=1")],
                "pagination": {"type": "next_button", "next_selector": "a.next"},
                "limits": {"max_pages": 50, "max_depth": 3},
            }
        )
        run = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
        assert run["status"] == "completed", run

        async def answered(asked: dict[str, object]) -> list[dict[str, object]]:
            async def done() -> bool:
                listed = await http.get(
                    f"/v1/llm/sessions/{asked['session_id']}/tasks", params={"limit": 500}
                )
                tasks = listed.json()["tasks"] if listed.status_code == 200 else []
                return len(tasks) == asked["requested"] and all(t["status"] == "completed" for t in tasks)

            await wait_until(done, within=90, interval=0.5, what="every task answered")
            listed = await http.get(f"/v1/llm/sessions/{asked['session_id']}/tasks", params={"limit": 500})
            tasks: list[dict[str, object]] = listed.json()["tasks"]
            return tasks

        # Every product of the run: one task each, its data sent as it is.
        ask_items = {"run_id": run["id"], "prompt": "Who would buy this?", "source": "items"}
        asked = await http.post("/v1/llm/tasks", json=ask_items | {"item_kind": "product"})
        assert asked.status_code == 202, asked.text
        assert asked.json()["source"] == "items" and asked.json()["requested"] == len(PRODUCTS)
        tasks = await answered(asked.json())
        assert all(task["kind"] == "on_demand" and not task["cached"] for task in tasks)
        sent = [
            r["messages"][-1]["content"]
            for r in model.requests
            if "Who would buy" in r["messages"][-1]["content"]
        ]
        assert len(sent) == len(PRODUCTS)
        assert {p.sku for p in PRODUCTS} == {p.sku for p in PRODUCTS for text in sent if p.sku in text}
        assert not any("confidence" in text for text in sent)
        # Asked again (another request): every answer from the cache, no call, no token.
        again = await http.post("/v1/llm/tasks", json=ask_items)
        repeated = await answered(again.json())
        assert len(repeated) == len(PRODUCTS) and all(task["cached"] for task in repeated)
        assert len([r for r in model.requests if "Who would buy" in r["messages"][-1]["content"]]) == len(
            PRODUCTS
        )

        # The hits of a search within the run: one task a hit, its URL, title and text sent.
        search = {"query": "brass lantern", "mode": "keyword", "limit": 3}
        hits = (await http.post("/v1/search", json=search | {"run_id": run["id"]})).json()["hits"]
        assert hits
        ask_hits = {
            "run_id": run["id"],
            "prompt": "Rate this hit.",
            "source": "search_hits",
            "search": search,
        }
        asked = await http.post("/v1/llm/tasks", json=ask_hits)
        assert asked.status_code == 202, asked.text
        assert asked.json()["requested"] == len(hits)
        tasks = await answered(asked.json())
        assert sorted(str(task["document_id"]) for task in tasks) == sorted(
            hit["document_id"] for hit in hits
        )
        sent = [
            r["messages"][-1]["content"]
            for r in model.requests
            if "Rate this hit" in r["messages"][-1]["content"]
        ]
        assert sorted(hit["url"] for hit in hits) == sorted(
            hit["url"] for hit in hits for text in sent if hit["url"] in text
        )

        for bad in (
            ask_hits | {"search": None},
            ask_items | {"search": search},
            ask_hits | {"search": search | {"run_id": str(uuid4())}},
            {"run_id": run["id"], "prompt": "?", "item_kind": "product"},
        ):
            refused = await http.post("/v1/llm/tasks", json=bad)
            assert refused.status_code == 422, (bad, refused.text)


RECORD_SCHEMA = {
    "title": "Product",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "sku": {"type": "string"},
        "care_instructions": {"type": "string"},  # on no page: only the model can fill it
    },
    "required": ["name", "sku", "care_instructions"],
}


async def test_records_the_rules_leave_incomplete_are_completed_by_the_model(settings: Settings) -> None:
    async with _shop_and_model(settings) as shop:
        site, model, client, http = shop.site, shop.model, shop.client, shop.http
        schema = await http.post("/v1/extractor-schemas", json={"name": "care", "definition": RECORD_SCHEMA})
        assert schema.status_code == 201, schema.text
        job = await client.create_job(
            {
                "name": "care",
                "kind": "scrape",
                "seeds": [site.url("/shop?page=1")],
                "pagination": {"type": "next_button", "next_selector": "a.next"},
                "extractor_schema_id": schema.json()["id"],
                "options": {"schema_url_patterns": ["/product/"], "llm_extraction": "missing"},
                "limits": {"max_pages": 50, "max_depth": 3},
            }
        )
        run = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
        assert run["status"] == "completed", run

        async def records() -> list[dict[str, object]]:
            page = await http.get(
                f"/v1/runs/{run['id']}/items", params={"kind": "schema_result", "limit": 100}
            )
            found: list[dict[str, object]] = page.json()["items"]
            return found

        async def all_completed() -> bool:
            found = await records()
            return len(found) == len(PRODUCTS) and all(record["valid"] for record in found)

        await wait_until(all_completed, within=90, interval=0.5, what="every record completed by the model")
        for record in await records():
            data = record["data"]
            assert isinstance(data, dict)
            assert data["care_instructions"] == "text"  # the model's answer
            assert data["name"] in {product.name for product in PRODUCTS}  # the rules' answer kept
        extraction_requests = [
            request for request in model.requests if "Page text" in request["messages"][-1]["content"]
        ]
        assert len(extraction_requests) == len(PRODUCTS)
        progress = (await client.run(run["id"]))["progress"]
        assert progress["items_found"] == progress["items_extracted"] == 2 * len(PRODUCTS)


@dataclass
class _Shop:
    site: ShopSite
    model: FakeOpenAI
    api: str
    wired: Settings
    client: TrawlClient
    http: httpx.AsyncClient


@contextlib.asynccontextmanager
async def _shop_and_model(settings: Settings) -> AsyncIterator[_Shop]:
    """The test shop, a model endpoint, the five services configured for it, and a new tenant's
    clients of the public API."""
    async with FakeOpenAI() as model, ShopSite() as site:
        configured = demo_settings(settings).model_copy(
            update={
                "llm_url": model.api_url,
                "llm_api_key": SecretStr(model.api_key),
                "llm_poll_seconds": 0.1,
            }
        )
        async with public_api(configured) as (api, wired):
            made = await bootstrap_tenant(wired, f"llm-{uuid4().hex[:6]}", "llm@localhost")
            headers = {"Authorization": f"Bearer {made.key.plaintext}"}
            async with (
                TrawlClient(api, made.key.plaintext) as client,
                httpx.AsyncClient(base_url=api, headers=headers, timeout=60) as http,
            ):
                yield _Shop(site, model, api, wired, client, http)
