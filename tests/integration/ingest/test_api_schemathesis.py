"""Property-based requests from the OpenAPI document (schemathesis) against the real ingest
service: whatever a client sends, the API answers without a 5xx.

Schemathesis calls the API synchronously, so the service (and the stand-in for the
extractor's search endpoint, see conftest) runs on its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from services.ingest import commands
from services.ingest.app import SPEC
from shared.config import Settings
from shared.service import ServiceRuntime
from tests.integration.ingest.conftest import stand_in_extractor

pytestmark = pytest.mark.integration


@dataclass
class LiveApi:
    url: str
    key: str


@pytest.fixture
def live_api(settings: Settings) -> Iterator[LiveApi]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    extractor = stand_in_extractor(settings.internal_token, [])
    runtime: ServiceRuntime | None = None

    async def start() -> LiveApi:
        nonlocal runtime
        extractor_url = await extractor.__aenter__()
        generous = settings.model_copy(
            update={
                "rate_limit_burst": 100_000,
                "rate_limit_per_second": 10_000.0,
                "extractor_internal_url": extractor_url,
            }
        )
        runtime = ServiceRuntime(SPEC, generous, http_port=0)
        await runtime.start()
        assert runtime.db is not None and runtime.http is not None
        async with runtime.db.unit_of_work() as uow:
            made = await commands.create_tenant_with_admin(
                uow, name="fuzz", email="fuzz@example.com", quota_pages_monthly=1000, max_active_runs=1000
            )
        return LiveApi(runtime.http.url, made.key.plaintext)

    async def stop() -> None:
        if runtime is not None:
            await runtime.stop()
        await extractor.__aexit__(None, None, None)

    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=120)
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_no_request_gets_a_server_error(live_api: LiveApi) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(operation.as_strategy())
        @hypothesis_settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=live_api.url,
                headers={"Authorization": f"Bearer {live_api.key}"},
                checks=[not_a_server_error],
                timeout=10,
            )

        call()
