"""Property-based requests from the OpenAPI document (schemathesis) against the real ingest
service: whatever a client sends, the API answers without a 5xx.

Schemathesis calls the API synchronously, so the services (ingest, and the crawler, the
extractor, the llm service and the exporter its internal calls reach) run on their own event
loop in a thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from services.crawler.app import SPEC as CRAWLER
from services.exporter.app import SPEC as EXPORTER
from services.extractor.app import SPEC as EXTRACTOR
from services.ingest import commands
from services.ingest.app import SPEC
from services.llm.app import SPEC as LLM
from shared.config import Settings
from shared.service import ServiceRuntime

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
    # The real services behind ingest's internal calls: search, a run's URLs, items, products,
    # LLM sessions and tasks, exports.
    backends = [
        ServiceRuntime(CRAWLER, settings, http_port=0),
        ServiceRuntime(EXTRACTOR, settings.model_copy(update={"qdrant_path": ":memory:"}), http_port=0),
        ServiceRuntime(LLM, settings, http_port=0),
        ServiceRuntime(EXPORTER, settings, http_port=0),
    ]
    runtime: ServiceRuntime | None = None

    async def start() -> LiveApi:
        nonlocal runtime
        for backend in backends:
            await backend.start()
        crawler, extractor, llm, exporter = (backend.http for backend in backends)
        assert crawler is not None and extractor is not None and llm is not None and exporter is not None
        generous = settings.model_copy(
            update={
                "rate_limit_burst": 100_000,
                "rate_limit_per_second": 10_000.0,
                "crawler_internal_url": crawler.url,
                "extractor_internal_url": extractor.url,
                "llm_internal_url": llm.url,
                "exporter_internal_url": exporter.url,
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
        for started in [runtime, *reversed(backends)]:
            if started is not None:
                await started.stop()

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


# Values a JSON body may carry that Python's json module reads but no JSON reader should
# accept, and values within JSON that are merely absurd. Each is planted somewhere in a body
# schemathesis made valid for the operation.
HOSTILE = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "9" * 5000,
    json.dumps("x" * 300_000),
    "[" * 3000 + "]" * 3000,
    json.dumps({"nested": {"deeper": [None, True, -0.0, 1e308]}}),
)
_MARK = "__planted__"


def _locations(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every place in a JSON value, the value itself included."""
    places = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            places += _locations(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            places += _locations(item, (*prefix, index))
    return places


def _planted(value: Any, where: tuple[str | int, ...], token: str) -> str:
    """`value` as JSON text with `token` in place of what is at `where`."""

    def replace(node: Any, path: tuple[str | int, ...]) -> Any:
        if not path:
            return _MARK
        copy = dict(node) if isinstance(node, dict) else list(node)
        copy[path[0]] = replace(node[path[0]], path[1:])  # type: ignore[index,call-overload]
        return copy

    return json.dumps(replace(value, where)).replace(json.dumps(_MARK), token, 1)


def test_non_finite_huge_and_deep_values_in_bodies_are_4xx_not_5xx(live_api: LiveApi) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api.url}/openapi.json")
    with_json_bodies = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if "application/json" in operation.definition.raw.get("requestBody", {}).get("content", {})
    ]
    assert len(with_json_bodies) >= 8
    session = requests.Session()
    for operation in with_json_bodies:

        @given(operation.as_strategy(), st.data())
        @hypothesis_settings(
            max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def call(case: schemathesis.Case, data: st.DataObject) -> None:
            body = case.body if isinstance(case.body, dict | list) else {}
            where = data.draw(st.sampled_from(_locations(body)), label="where")
            token = data.draw(st.sampled_from(HOSTILE), label="token")
            answer = session.request(
                case.method,
                f"{live_api.url}{case.formatted_path}",
                params=case.query,
                data=_planted(body, where, token).encode(),
                headers={"Authorization": f"Bearer {live_api.key}", "Content-Type": "application/json"},
                timeout=30,
            )
            assert answer.status_code < 500, (
                f"{case.method} {case.formatted_path} with {token[:40]}: {answer.text}"
            )

        call()
