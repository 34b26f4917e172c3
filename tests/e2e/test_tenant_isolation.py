"""Tenant isolation over the whole public API, read from its own OpenAPI document: every
operation on a path that names a resource, called by another tenant with tenant A's real ids,
is a 404 — reads, changes and deletions alike — and afterwards tenant A still reads every one
of them. Keys that may only read (a viewer's, a read-scoped key) can change nothing. A new
endpoint is covered the day it is added; one whose id this test cannot fill fails it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
from pydantic import SecretStr

from shared.config import Settings
from shared.events import JobSubmitted
from shared.producer import publish_direct
from tests.e2e.stack import public_api
from tests.sites.image_site import KEYWORD, RULES, ImageSite
from tests.sites.openai_server import FakeOpenAI
from tests.sites.search_engines import FakeSearxng
from tests.support import wait_until
from trawl.api_commands import bootstrap_tenant
from trawl.client import TrawlClient
from trawl.crawling import follow
from trawl.demo import DEMO_SITE, demo_settings, serving_demo_site
from trawl.images import follow_validation

pytestmark = pytest.mark.integration

MUTATING = ("post", "put", "patch", "delete")
# The smallest valid body of each operation that takes one, so that a refusal is about the
# resource, not the body.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("patch", "/v1/projects/{project_id}"): {"name": "renamed"},
    ("post", "/v1/runs/{run_id}/validations"): {"rules": {}},
    ("post", "/v1/jobs"): {"name": "x", "seeds": ["https://example.com/"]},
    ("put", "/v1/jobs/{job_id}/expanded-keywords"): {"expanded_keywords": None},
    ("post", "/v1/projects"): {"name": "x"},
    ("post", "/v1/keys"): {"name": "x"},
    ("post", "/v1/users"): {"email": "x@example.com", "role": "viewer"},
    ("post", "/v1/extractor-schemas"): {"name": "x", "definition": {"type": "object"}},
    ("post", "/v1/search"): {"query": "x"},
    ("post", "/v1/llm/tasks"): {"run_id": str(uuid4()), "prompt": "x"},
    ("post", "/v1/exports"): {"run_id": str(uuid4()), "format": "csv"},
    ("patch", "/v1/tenant"): {"max_active_runs": 5},
}


@dataclass
class World:
    api: str
    owner: httpx.AsyncClient
    other: httpx.AsyncClient
    viewer: httpx.AsyncClient
    read_only: httpx.AsyncClient
    ids: dict[str, str]  # path parameter -> one of tenant A's resources
    operations: list[tuple[str, str]]  # (method, path template) of the whole API


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with (
        ImageSite() as site,
        FakeSearxng(site.search_index()) as searxng,
        FakeOpenAI() as model,
        serving_demo_site() as demo_url,
    ):
        settings = demo_settings(settings).model_copy(
            update={
                "searxng_url": searxng.base_url,
                "llm_url": model.api_url,
                "llm_api_key": SecretStr(model.api_key),
                "llm_poll_seconds": 0.1,
            }
        )
        async with public_api(settings) as (api, wired):
            a = await bootstrap_tenant(wired, "tenant-a", "a@localhost")
            b = await bootstrap_tenant(wired, "tenant-b", "b@localhost")
            async with (
                _client(api, a.key.plaintext) as owner,
                _client(api, b.key.plaintext) as other,
                TrawlClient(api, a.key.plaintext) as trawl,
            ):
                ids = await _resources_of(owner, trawl, demo_url) | {
                    "submission_id": await _submission_of(wired, trawl)
                }
                viewer_key = await _viewer_key(owner)
                read_key = (await owner.post("/v1/keys", json={"name": "ro", "scopes": ["read"]})).json()
                async with _client(api, viewer_key) as viewer, _client(api, read_key["key"]) as read_only:
                    spec = (await owner.get("/openapi.json")).json()
                    operations = [
                        (method, path)
                        for path, item in spec["paths"].items()
                        for method in item
                        if method in ("get", *MUTATING)
                    ]
                    yield World(api, owner, other, viewer, read_only, ids, operations)


def _client(api: str, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {key}"}, timeout=60)


async def _resources_of(owner: httpx.AsyncClient, trawl: TrawlClient, demo_url: str) -> dict[str, str]:
    """One resource of every kind for tenant A, made through the API."""
    project = (await owner.post("/v1/projects", json={"name": "isolated"})).json()
    schema = (
        await owner.post(
            "/v1/extractor-schemas",
            json={
                "name": "photo",
                "definition": {"type": "object", "properties": {"title": {"type": "string"}}},
            },
        )
    ).json()
    job = await trawl.create_job(
        {
            "name": "lighthouses",
            "kind": "images",
            "keywords": [KEYWORD],
            "limits": {"max_images": 20},
            "project_id": project["id"],
        }
    )
    run = await follow(trawl, (await trawl.start_run(job["id"]))["id"], wait_seconds=180)
    assert run["status"] == "completed", run
    validation = await follow_validation(
        trawl, (await trawl.validate(run["id"], RULES))["id"], wait_seconds=120
    )
    product_pages = sorted(page for page in (DEMO_SITE / "products").glob("*.html") if page.stem != "index")
    uploaded = await trawl.upload(product_pages[:2])
    await follow(trawl, uploaded["run"]["id"], wait_seconds=180)
    products = (await owner.get("/v1/products")).json()["products"]
    assert len(products) == 2, products
    key = (await owner.post("/v1/keys", json={"name": "spare"})).json()
    session, task = await _llm_task_of(owner, trawl, demo_url)
    export = await _export_of(owner, run["id"])
    return {
        "project_id": project["id"],
        "schema_id": schema["id"],
        "job_id": job["id"],
        "run_id": run["id"],
        "validation_id": validation["id"],
        "document_id": uploaded["documents"][0]["document_id"],
        "product_id": products[0]["id"],
        "key_id": key["id"],
        "session_id": session,
        "task_id": task,
        "export_id": export,
    }


async def _export_of(owner: httpx.AsyncClient, run_id: str) -> str:
    """A completed export of the run's images (its file downloadable)."""
    asked = (
        await owner.post("/v1/exports", json={"run_id": run_id, "dataset": "images", "format": "jsonl"})
    ).json()

    async def completed() -> bool:
        return bool((await owner.get(f"/v1/exports/{asked['id']}")).json()["status"] == "completed")

    await wait_until(completed, within=60, what="tenant A's export")
    export_id: str = asked["id"]
    return export_id


async def _llm_task_of(owner: httpx.AsyncClient, trawl: TrawlClient, demo_url: str) -> tuple[str, str]:
    """An LLM session and one of its tasks: a job's query over a product page it crawls."""
    query = {"name": "describe", "prompt": "Describe this product in one line."}
    job = await trawl.create_job(
        {
            "name": "one product",
            "seeds": [f"{demo_url}/products/sea-boots.html"],
            "llm_queries": [query],
            "limits": {"max_pages": 1, "max_depth": 0},
        }
    )
    run = await follow(trawl, (await trawl.start_run(job["id"]))["id"], wait_seconds=120)
    assert run["status"] == "completed", run

    async def answered() -> list[dict[str, Any]]:
        sessions: list[dict[str, Any]] = (await owner.get("/v1/llm/sessions")).json()["sessions"]
        return [s for s in sessions if s["run_id"] == run["id"] and s["tasks"].get("completed")]

    (session,) = await wait_until(answered, within=60, what="the product's LLM task")
    tasks = (await owner.get(f"/v1/llm/sessions/{session['id']}/tasks")).json()["tasks"]
    return session["id"], tasks[0]["id"]


async def _submission_of(settings: Settings, trawl: TrawlClient) -> str:
    """A job submitted over Kafka, as an external producer would, and taken in."""
    me = await trawl.me()
    submission = JobSubmitted(
        tenant_id=me["tenant_id"],
        submission_id=uuid4(),
        config={"name": "over kafka", "seeds": ["https://example.com/"]},
        submitted_by=f"key:{me['key_id']}",
    )
    await publish_direct(settings, [submission])
    await wait_until(lambda: trawl.submission(str(submission.submission_id)), within=60)
    return str(submission.submission_id)


async def _viewer_key(owner: httpx.AsyncClient) -> str:
    user = (await owner.post("/v1/users", json={"email": "viewer@a.example", "role": "viewer"})).json()
    made = await owner.post("/v1/keys", json={"name": "viewer", "user_id": user["id"]})
    assert made.status_code == 201, made.text
    key: str = made.json()["key"]
    return key


def _filled(path: str, ids: dict[str, str]) -> str:
    missing = [name for name in re.findall(r"{(\w+)}", path) if name not in ids]
    assert not missing, f"{path}: no resource of tenant A for {missing}; add one to _resources_of"
    return re.sub(r"{(\w+)}", lambda match: ids[match.group(1)], path)


async def _call(client: httpx.AsyncClient, method: str, path: str, ids: dict[str, str]) -> httpx.Response:
    body = BODIES.get((method, path))
    return await client.request(method.upper(), _filled(path, ids), json=body)


async def test_another_tenant_gets_404_for_every_resource_and_changes_nothing(world: World) -> None:
    naming = [(method, path) for method, path in world.operations if "{" in path]
    assert len(naming) >= 20, naming
    answers = {(method, path): (await _call(world.other, method, path, world.ids)) for method, path in naming}
    leaks = {
        f"{method.upper()} {path}": (answer.status_code, answer.text[:200])
        for (method, path), answer in answers.items()
        if answer.status_code != 404
    }
    assert not leaks
    # Nothing of A's was changed or deleted by those calls: A still reads every one of them.
    unreadable = {}
    for method, path in naming:
        if method == "get":
            answer = await world.owner.get(_filled(path, world.ids))
            if answer.status_code not in (200, 302):  # 302: a download's presigned link
                unreadable[path] = (answer.status_code, answer.text[:200])
    assert not unreadable
    project = (await world.owner.get(_filled("/v1/projects/{project_id}", world.ids))).json()
    assert project["name"] == "isolated"
    # Lists and search: nothing of A's shows through B's eyes.
    for listing in ("/v1/runs", "/v1/jobs", "/v1/projects", "/v1/extractor-schemas", "/v1/products"):
        seen = (await world.other.get(listing)).text
        assert not [value for value in world.ids.values() if value in seen], listing
    found = await world.other.post("/v1/search", json={"query": "lighthouse", "run_id": world.ids["run_id"]})
    assert found.status_code == 404


async def test_keys_that_may_only_read_change_nothing(world: World) -> None:
    mutating = [(method, path) for method, path in world.operations if method in MUTATING]
    for client in (world.viewer, world.read_only):
        refused = {}
        for method, path in mutating:
            if path == "/v1/search":  # a query is a read, sent as POST
                continue
            answer = await _call(client, method, path, world.ids)
            refused[f"{method.upper()} {path}"] = answer.status_code
        assert set(refused.values()) == {403}, refused
        assert (await client.get("/v1/runs")).status_code == 200
