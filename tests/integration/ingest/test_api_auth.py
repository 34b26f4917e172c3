"""Keys, roles and tenant isolation through the real API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.ingest.conftest import Api

pytestmark = pytest.mark.integration

JOB = {"name": "site", "seeds": ["https://example.com/"], "limits": {"max_pages": 5}}


async def test_requests_without_a_valid_key_get_401_problems(api: Api) -> None:
    acme = await api.tenant()
    assert (await acme.client.get("/v1/me")).status_code == 200

    missing = await api.client().get("/v1/jobs")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in missing.json()["detail"]
    assert (await api.client("trawl_0123456789ab_not-a-real-key").get("/v1/jobs")).status_code == 401
    assert (await api.client("garbage").get("/v1/jobs")).status_code == 401

    expiring = await acme.client.post(
        "/v1/keys",
        json={"name": "short", "expires_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()},
    )
    assert expiring.status_code == 201
    spare = await acme.client.post("/v1/keys", json={"name": "spare"})
    created = spare.json()
    assert created["key"].startswith(created["prefix"])
    assert (await api.client(created["key"]).get("/v1/me")).status_code == 200
    assert (await acme.client.delete(f"/v1/keys/{created['id']}")).status_code == 204
    revoked = await api.client(created["key"]).get("/v1/me")
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]

    listed = (await acme.client.get("/v1/keys")).json()
    assert all("key" not in key for key in listed)  # shown once, never listed
    async with api.pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT count(*) FROM api_keys WHERE key_hash = sha256($1::text::bytea)", created["key"]
        )
    assert stored == 1  # only the hash is stored

    await asyncio.sleep(1.2)
    expired = await api.client(expiring.json()["key"]).get("/v1/me")
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]

    assert (await api.client().get("/docs")).status_code == 200  # the documentation needs no key
    assert "/v1/jobs/{job_id}/runs" in (await api.client().get("/openapi.json")).json()["paths"]
    metrics = (await api.client().get("/metrics")).text
    assert 'trawl_api_requests_total{method="GET",route="/v1/me",status="200"}' in metrics
    assert 'trawl_api_auth_failures_total{reason="revoked"}' in metrics


async def test_another_tenants_resources_are_404_not_403(api: Api) -> None:
    acme, other = await api.tenant("acme"), await api.tenant("other")
    job = (await acme.client.post("/v1/jobs", json=JOB)).json()
    run = (await acme.client.post(f"/v1/jobs/{job['id']}/runs")).json()
    project = (await acme.client.post("/v1/projects", json={"name": "p"})).json()

    for path in (f"/v1/jobs/{job['id']}", f"/v1/runs/{run['id']}", f"/v1/projects/{project['id']}"):
        assert (await acme.client.get(path)).status_code == 200, path
        answer = await other.client.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"
    assert (await other.client.get(f"/v1/runs/{run['id']}/events")).status_code == 404
    async with acme.client.stream("GET", f"/v1/runs/{run['id']}/events") as events:
        assert events.status_code == 200
    for method, path in (
        ("POST", f"/v1/jobs/{job['id']}/runs"),
        ("POST", f"/v1/runs/{run['id']}/cancel"),
        ("DELETE", f"/v1/runs/{run['id']}"),
        ("DELETE", f"/v1/jobs/{job['id']}"),
    ):
        assert (await other.client.request(method, path)).status_code == 404, path
    assert (await other.client.get("/v1/runs")).json() == []
    assert (await other.client.get("/v1/jobs")).json() == []


async def test_roles_and_scopes_limit_what_a_key_may_do(api: Api) -> None:
    acme = await api.tenant()
    viewer = (await acme.client.post("/v1/users", json={"email": "v@acme.example", "role": "viewer"})).json()
    key = (await acme.client.post("/v1/keys", json={"user_id": viewer["id"]})).json()
    as_viewer = api.client(key["key"])
    assert (await as_viewer.get("/v1/jobs")).status_code == 200
    refused = await as_viewer.post("/v1/jobs", json=JOB)
    assert refused.status_code == 403
    assert "may not write" in refused.json()["detail"]
    too_much = await acme.client.post("/v1/keys", json={"user_id": viewer["id"], "scopes": ["write"]})
    assert too_much.status_code == 422

    read_only = (await acme.client.post("/v1/keys", json={"scopes": ["read"]})).json()
    assert (await api.client(read_only["key"]).post("/v1/projects", json={"name": "x"})).status_code == 403
    assert (await api.client(read_only["key"]).get("/v1/projects")).status_code == 200
