"""A job with an LLM query end to end through the public API: the shop's products crawled and
extracted, each asked the query by the llm service (against a local OpenAI-compatible server),
the session and its tasks readable, their outputs downloadable, the tokens in the tenant's usage."""

from __future__ import annotations

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
    async with FakeOpenAI() as model, ShopSite() as site:
        configured = demo_settings(settings).model_copy(
            update={
                "llm_url": model.api_url,
                "llm_api_key": SecretStr(model.api_key),
                "llm_poll_seconds": 0.1,
            }
        )
        async with public_api(configured) as (api, wired):
            made = await bootstrap_tenant(wired, "llm-shop", "llm@localhost")
            headers = {"Authorization": f"Bearer {made.key.plaintext}"}
            async with (
                TrawlClient(api, made.key.plaintext) as client,
                httpx.AsyncClient(base_url=api, headers=headers, timeout=60) as http,
            ):
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
                failed = await http.get(
                    f"/v1/llm/sessions/{session['id']}/tasks", params={"status": "failed"}
                )
                assert failed.json()["tasks"] == []
                assert (await http.post(f"/v1/llm/sessions/{session['id']}/retry")).json() == {"retried": 0}
                usage = (await http.get("/v1/usage")).json()
                assert usage["tokens"] == session["prompt_tokens"] + session["completion_tokens"]

                other = await bootstrap_tenant(wired, "other", "other@localhost")
                stranger = {"Authorization": f"Bearer {other.key.plaintext}"}
                async with httpx.AsyncClient(base_url=api, headers=stranger, timeout=30) as outsider:
                    assert (await outsider.get("/v1/llm/sessions")).json()["sessions"] == []
                    assert (await outsider.get(f"/v1/llm/tasks/{tasks[0]['id']}")).status_code == 404
                    assert (await outsider.post(f"/v1/llm/sessions/{session['id']}/retry")).status_code == 404
                    assert (await outsider.get(f"/v1/llm/sessions/{uuid4()}/tasks")).status_code == 404
