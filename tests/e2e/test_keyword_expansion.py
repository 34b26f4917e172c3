"""Keyword expansion end to end, through the public API: the llm service expands a keyword
job's keywords (a local OpenAI-compatible server), the expansions are searched on a local
SearXNG-compatible server and what they find is crawled with its provenance; the run shows
them, the job takes its own instead; and with no LLM configured the keywords alone are
searched, the run saying why."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from pydantic import SecretStr

from shared.config import Settings
from tests.e2e.stack import public_api
from tests.sites.keyword_web import KeywordWeb, keyword_web
from tests.sites.openai_server import FakeOpenAI, echo_answer
from tests.sites.search_engines import FakeResult, FakeSearxng
from trawl.api_commands import bootstrap_tenant
from trawl.client import TrawlClient
from trawl.crawling import follow
from trawl.demo import demo_settings

pytestmark = pytest.mark.integration

# What the model offers for "tide tables": one repeat of the keyword, three phrases (the job
# keeps two), and a keyword the job does not have.
OFFERED = {
    "expansions": [
        {"keyword": "tide tables", "phrases": ["tide tables", "tide times", "sluice hours", "third one"]},
        {"keyword": "sea shanties", "phrases": ["songs"]},
    ]
}


def expanding(body: dict[str, Any]) -> str:
    asked = body["messages"][-1]["content"]
    return json.dumps(OFFERED) if "search phrases" in asked else echo_answer(body)


def index(web: KeywordWeb) -> dict[str, list[FakeResult]]:
    """The web's index, and a page only an expansion finds."""
    river = web.sites["river"]
    found = web.search_index()
    found["tide times"] = [FakeResult(river.url("/articles/3"), river.articles[2].title, "times", "bing")]
    return found


@contextlib.asynccontextmanager
async def _api(
    settings: Settings, *, with_llm: bool
) -> AsyncIterator[tuple[KeywordWeb, FakeOpenAI, httpx.AsyncClient, TrawlClient]]:
    async with keyword_web() as web, FakeSearxng(index(web)) as searxng, FakeOpenAI(expanding) as model:
        update: dict[str, Any] = {"searxng_url": searxng.base_url}
        if with_llm:
            update |= {
                "llm_url": model.api_url,
                "llm_api_key": SecretStr(model.api_key),
                "llm_poll_seconds": 0.1,
            }
        configured = demo_settings(settings).model_copy(update=update)
        async with public_api(configured) as (api, wired):
            made = await bootstrap_tenant(wired, f"kw-{uuid4().hex[:6]}", "kw@localhost")
            headers = {"Authorization": f"Bearer {made.key.plaintext}"}
            async with (
                httpx.AsyncClient(base_url=api, headers=headers, timeout=60) as http,
                TrawlClient(api, made.key.plaintext) as client,
            ):
                yield web, model, http, client


async def _provenance(http: httpx.AsyncClient, run_id: str) -> dict[str, dict[str, Any]]:
    urls = (await http.get(f"/v1/runs/{run_id}/pages", params={"limit": 500})).json()["urls"]
    return {url["url"]: url["provenance"] for url in urls if url["provenance"]}


async def test_the_llms_expansions_are_searched_shown_on_the_run_and_the_jobs_own_replace_them(
    settings: Settings,
) -> None:
    async with _api(settings, with_llm=True) as (web, model, http, client):
        job = await client.create_job(
            {"name": "tides", "kind": "keywords", "keywords": ["tide tables"], "expansions_per_keyword": 2}
        )
        run = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
        assert run["status"] == "completed", run
        assert run["keyword_expansion"]["state"] == "done", run["keyword_expansion"]
        assert run["keyword_expansion"]["expanded_keywords"] == {
            "tide tables": ["tide times", "sluice hours"]
        }
        assert run["progress"]["errors"] == 0
        searches = (await http.get(f"/v1/runs/{run['id']}/searches")).json()["searches"]
        assert sorted((s["keyword"], s["expansion"] or "", s["state"]) for s in searches) == [
            ("tide tables", "", "done"),
            ("tide tables", "sluice hours", "zero_results"),
            ("tide tables", "tide times", "done"),
        ]
        found = await _provenance(http, run["id"])
        only_expanded = web.url("river", "/articles/3")
        assert set(found) == web.found_urls() - {web.url("workshop", "/articles/4")} | {only_expanded}
        assert found[only_expanded]["keyword"] == "tide tables"
        assert found[only_expanded]["expansion"] == "tide times"
        assert all("expansion" not in found[url] for url in found if url != only_expanded)
        asked = [r for r in model.requests if "search phrases" in r["messages"][-1]["content"]]
        assert len(asked) == 1 and "tide tables" in asked[0]["messages"][-1]["content"]

        # The job's own expansions, from its next run on: no LLM call, the given phrase searched.
        refused = await http.put(
            f"/v1/jobs/{job['id']}/expanded-keywords", json={"expanded_keywords": {"sea shanties": ["x"]}}
        )
        assert refused.status_code == 422, refused.text
        edited = await http.put(
            f"/v1/jobs/{job['id']}/expanded-keywords",
            json={"expanded_keywords": {"tide tables": ["lantern repair"]}},
        )
        assert edited.status_code == 200, edited.text
        shown = (await http.get(f"/v1/jobs/{job['id']}")).json()
        assert shown["config"]["expanded_keywords"] == {"tide tables": ["lantern repair"]}
        second = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
        assert second["keyword_expansion"]["state"] == "job"
        assert second["keyword_expansion"]["expanded_keywords"] == {"tide tables": ["lantern repair"]}
        again = await _provenance(http, second["id"])
        assert again[web.url("workshop", "/articles/4")]["expansion"] == "lantern repair"
        assert only_expanded not in again
        assert len([r for r in model.requests if "search phrases" in r["messages"][-1]["content"]]) == 1


async def test_without_an_llm_the_keywords_alone_are_searched_and_the_run_says_why(
    settings: Settings,
) -> None:
    async with _api(settings, with_llm=False) as (web, model, http, client):
        job = await client.create_job({"name": "tides", "kind": "keywords", "keywords": ["tide tables"]})
        run = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
        assert run["status"] == "completed", run
        expansion = run["keyword_expansion"]
        assert expansion["state"] == "skipped" and "TRAWL_LLM_URL" in expansion["note"], expansion
        assert expansion["expanded_keywords"] == {}
        assert run["progress"]["errors"] == 0  # nothing failed: there was nothing to expand with
        found = await _provenance(http, run["id"])
        assert set(found) == web.found_urls() - {web.url("workshop", "/articles/4")}
        assert model.requests == []


async def test_when_the_model_refuses_the_keywords_alone_are_searched_and_the_run_says_why(
    settings: Settings,
) -> None:
    async with _api(settings, with_llm=True) as (web, model, http, client):
        model.fail_next("refusal")  # fails the task for good at once
        job = await client.create_job({"name": "tides", "kind": "keywords", "keywords": ["tide tables"]})
        run = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
        assert run["status"] == "completed", run
        expansion = run["keyword_expansion"]
        assert expansion["state"] == "failed" and expansion["note"].startswith("refusal:"), expansion
        assert run["progress"]["errors"] == 1  # a task that failed: counted, unlike one skipped
        found = await _provenance(http, run["id"])
        assert set(found) == web.found_urls() - {web.url("workshop", "/articles/4")}
