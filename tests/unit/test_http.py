from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shared import metrics
from shared.http import HealthServer


async def passing() -> None:
    return None


async def refusing() -> None:
    raise ConnectionRefusedError("connection refused")


async def hanging() -> None:
    await asyncio.sleep(30)


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


@pytest.fixture
async def server() -> AsyncIterator[HealthServer]:
    checks = {"postgres": passing, "kafka": refusing, "s3": hanging}
    health = HealthServer("testsvc", "127.0.0.1", 0, checks, routes=[Route("/api/hello", hello)])
    await health.start()
    try:
        yield health
    finally:
        await health.stop()


@pytest.fixture
async def http(server: HealthServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


async def test_binds_an_ephemeral_port(server: HealthServer) -> None:
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"


async def test_healthz(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_names_failing_checks(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unready",
        "checks": {
            "postgres": "ok",
            "kafka": "ConnectionRefusedError: connection refused",
            "s3": "timeout after 2.0s",
        },
    }


async def test_readyz_runs_its_checks_concurrently() -> None:
    """Each check waits for the other to have started: run one after the other, the first
    would time out; run together, both pass."""
    started = {"postgres": asyncio.Event(), "kafka": asyncio.Event()}

    def meeting(name: str, other: str) -> Callable[[], Awaitable[None]]:
        async def check() -> None:
            started[name].set()
            await started[other].wait()

        return check

    checks = {"postgres": meeting("postgres", "kafka"), "kafka": meeting("kafka", "postgres")}
    health = HealthServer("testsvc", "127.0.0.1", 0, checks)
    await health.start()
    try:
        async with httpx.AsyncClient(base_url=health.url) as client:
            response = await client.get("/readyz")
    finally:
        await health.stop()

    assert response.json() == {"status": "ready", "checks": {"postgres": "ok", "kafka": "ok"}}


async def test_readyz_all_passing() -> None:
    health = HealthServer("testsvc", "127.0.0.1", 0, {"postgres": passing, "s3": passing})
    await health.start()
    try:
        async with httpx.AsyncClient(base_url=health.url) as client:
            response = await client.get("/readyz")
    finally:
        await health.stop()

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"postgres": "ok", "s3": "ok"}}


async def test_metrics(http: httpx.AsyncClient) -> None:
    metrics.EVENTS_CONSUMED.labels("testsvc", "page.fetched", "ok").inc()

    response = await http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "trawl_" in response.text
    assert 'trawl_events_consumed_total{event_type="page.fetched",outcome="ok",service="testsvc"}' in (
        response.text
    )
    assert "# TYPE trawl_outbox_pending gauge" in response.text


async def test_extra_routes_are_mounted(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/hello")
    assert response.status_code == 200
    assert response.text == "hello"


async def test_stop_releases_the_port() -> None:
    health = HealthServer("testsvc", "127.0.0.1", 0, {})
    await health.start()
    port = health.port
    await health.stop()

    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_port_in_use_raises_instead_of_exiting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        health = HealthServer("testsvc", "127.0.0.1", taken.getsockname()[1], {})
        with pytest.raises(RuntimeError, match="failed to start"):
            await health.start()
