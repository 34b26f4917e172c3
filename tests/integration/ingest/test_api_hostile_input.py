"""What a careless or hostile client sends: non-finite numbers, huge bodies and URLs, keys that
expired before they were made, and a fault inside the service. Every answer is a 4xx or a
problem+json 500 that names its request id; none resets the connection."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client import REGISTRY

from shared.events import MAX_EVENT_BYTES
from tests.integration.ingest.conftest import Api, Tenant, start_api

pytestmark = pytest.mark.integration

JOB: dict[str, Any] = {"name": "site", "seeds": ["https://example.com/"]}


async def _raw(tenant: Tenant, method: str, path: str, body: str) -> tuple[int, dict[str, Any]]:
    """Send `body` as it is (json.dumps would refuse NaN by default and rewrite nothing else)."""
    reply = await tenant.client.request(
        method, path, content=body.encode(), headers={"Content-Type": "application/json"}
    )
    return reply.status_code, reply.json()


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        (
            "/v1/jobs",
            '{"seeds": ["https://example.com/"], "limits": {"min_delay_seconds": Infinity}}',
            "Infinity",
        ),
        (
            "/v1/jobs",
            '{"seeds": ["https://example.com/"], "limits": {"min_delay_seconds": -Infinity}}',
            "Infinity",
        ),
        ("/v1/jobs", '{"seeds": ["https://example.com/"], "options": {"ratio": NaN}}', "NaN"),
        ("/v1/jobs", '{"seeds": ["https://example.com/"], "options": {"big": 1e999}}', "1e999"),
        (
            "/v1/extractor-schemas",
            '{"name": "p", "definition": {"type": "number", "maximum": Infinity}}',
            "Infinity",
        ),
        ("/v1/extractor-schemas", '{"name": "p", "definition": {"type": "number", "minimum": NaN}}', "NaN"),
    ],
)
async def test_non_finite_numbers_are_refused_where_json_comes_in(
    api: Api, path: str, body: str, where: str
) -> None:
    acme = await api.tenant()
    status, problem = await _raw(acme, "POST", path, body)
    assert status == 422, problem
    assert "not valid JSON" in problem["detail"] and where in problem["detail"]
    assert (await acme.client.get("/v1/jobs")).json() == []


async def test_a_job_whose_runs_could_never_be_announced_is_refused_at_creation(api: Api) -> None:
    acme = await api.tenant()
    too_big = {**JOB, "options": {"notes": "x" * (MAX_EVENT_BYTES + 1)}}
    refused = await acme.client.post("/v1/jobs", json=too_big)
    assert refused.status_code == 422
    assert f"at most {MAX_EVENT_BYTES:,} fit" in refused.json()["detail"]
    assert (await acme.client.get("/v1/jobs")).json() == []


async def test_json_bodies_have_a_limit_of_their_own(api: Api) -> None:
    small = api.runtime.settings.model_copy(
        update={"api_json_max_bytes": 64 * 1024, "upload_max_bytes": 10**6}
    )
    runtime, limited = await start_api(small)
    try:
        acme = await limited.tenant()
        body = json.dumps({**JOB, "options": {"notes": "x" * 100_000}})
        refused = await acme.client.post(
            "/v1/jobs", content=body, headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 413
        assert refused.headers["content-type"] == "application/problem+json"
        assert f"is {len(body):,} bytes; at most {64 * 1024:,} are accepted" in refused.json()["detail"]

        async def chunks() -> Any:  # no Content-Length: the limit holds while reading
            for _ in range(10):
                yield b" " * 10_000
            yield json.dumps(JOB).encode()

        streamed = await acme.client.post(
            "/v1/jobs", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert (
            streamed.json()["detail"]
            == f"the request body passed {64 * 1024:,} bytes; at most {64 * 1024:,} are accepted"
        )
        # Uploads keep their own, larger limit.
        upload = await acme.client.post(
            "/v1/uploads", files=[("files", ("a.txt", b"x" * 200_000, "text/plain"))]
        )
        assert upload.status_code == 201, upload.text
    finally:
        for client in limited.clients:
            await client.aclose()
        await runtime.stop()


async def test_urls_longer_than_browsers_take_are_refused(api: Api) -> None:
    acme = await api.tenant()
    seed = "https://example.com/" + "a" * 100_000
    refused = await acme.client.post("/v1/jobs", json={"seeds": [seed]})
    assert refused.status_code == 422
    assert "seeds.0: a URL of 100,020 characters; at most 8,192 are accepted" in refused.json()["detail"]
    long_but_fine = "https://example.com/" + "a" * 8000
    assert (await acme.client.post("/v1/jobs", json={"seeds": [long_but_fine]})).status_code == 201


async def test_a_key_cannot_be_made_already_expired(api: Api) -> None:
    acme = await api.tenant()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    refused = await acme.client.post("/v1/keys", json={"name": "late", "expires_at": past})
    assert refused.status_code == 422
    assert "has passed" in refused.json()["detail"]
    naive = await acme.client.post("/v1/keys", json={"name": "naive", "expires_at": "2999-01-01T00:00:00"})
    assert naive.status_code == 422, "a time without a zone is ambiguous"


async def test_an_unexpected_error_is_a_problem_with_a_request_id_and_the_connection_stays(api: Api) -> None:
    acme = await api.tenant()
    # A fault the code does not expect: the table it writes to is gone.
    await api.pool.execute("ALTER TABLE projects RENAME TO projects_elsewhere")
    try:
        before = _requests("/v1/projects", "500")
        host = urlsplit(api.url)
        reader, writer = await asyncio.open_connection(host.hostname, host.port)
        try:
            body = b'{"name": "doomed"}'
            writer.write(
                b"POST /v1/projects HTTP/1.1\r\nHost: t\r\nX-Request-ID: req-boom\r\n"
                + f"Authorization: Bearer {acme.key}\r\nContent-Type: application/json\r\n".encode()
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            status, headers, answer = await _response(reader)
            assert status == 500
            assert headers["content-type"] == "application/problem+json"
            assert headers["x-request-id"] == "req-boom"
            assert json.loads(answer)["status"] == 500 and "req-boom" in json.loads(answer)["detail"]
            # The same connection serves the next request.
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            status, _, _ = await _response(reader)
            assert status == 200
        finally:
            writer.close()
        assert _requests("/v1/projects", "500") == before + 1
        audit = await api.pool.fetchrow("SELECT action, status FROM audit_log WHERE request_id = 'req-boom'")
        assert audit is not None and (audit["action"], audit["status"]) == ("POST /v1/projects", 500)
    finally:
        await api.pool.execute("ALTER TABLE projects_elsewhere RENAME TO projects")


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:] if line)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def _requests(route: str, status: str) -> float:
    labels = {"method": "POST", "route": route, "status": status}
    return REGISTRY.get_sample_value("trawl_api_requests_total", labels) or 0.0
