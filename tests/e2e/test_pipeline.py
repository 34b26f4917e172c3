"""One job through all five services over the real Kafka, PostgreSQL and S3."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from uuid import uuid4

import asyncpg
import httpx
import pytest

from shared.config import Settings
from shared.db import connect_admin
from shared.events import SERVICES, JobConfig, JobRejected, JobSubmitted, LlmQuery
from shared.producer import publish_direct
from shared.service import ServiceRuntime, running
from shared.topics import topic_for
from tests.support import consume_all, consumed_everything, settings_env, wait_until
from trawl.registry import all_specs

pytestmark = pytest.mark.integration


async def test_a_submitted_job_reaches_every_service_and_a_bad_one_is_rejected(settings: Settings) -> None:
    async with running([ServiceRuntime(spec, settings, http_port=0) for spec in all_specs()]):
        conn = await connect_admin(settings)
        try:
            await _follow_a_job(settings, conn)
        finally:
            await conn.close()


async def _follow_a_job(settings: Settings, conn: asyncpg.Connection) -> None:
    schema = settings.schema_for
    tenant = uuid4()
    config = JobConfig(
        name="e2e",
        seeds=["https://example.com/", "https://example.com/#top", "https://example.com/docs"],
        llm_queries=[LlmQuery(name="summary", prompt="Summarise.")],
    )
    good = JobSubmitted(
        tenant_id=tenant,
        submission_id=uuid4(),
        idempotency_key="e2e-1",
        config=config.model_dump(mode="json"),
    )
    again = good.model_copy(update={"submission_id": uuid4()})  # same idempotency key: same run
    bad = JobSubmitted(
        tenant_id=tenant,
        submission_id=uuid4(),
        config={"seeds": ["ftp://nope"], "limits": {"max_pages": -1}},
    )
    await publish_direct(settings, [good, again, bad])

    run_id = await wait_until(
        lambda: conn.fetchval(
            f"SELECT id FROM {schema('ingest')}.runs WHERE submission_id = $1", good.submission_id
        )
    )
    assert run_id is not None
    frontier = await wait_until(
        lambda: conn.fetch(
            f"SELECT url, depth, state FROM {schema('crawler')}.frontier WHERE run_id = $1", run_id
        )
    )
    # The fragment-only variant is the same page: two frontier entries, not three. (Their state
    # moves on at once: the crawler's workers lease them straight away.)
    assert sorted((row["url"], row["depth"]) for row in frontier) == [
        ("https://example.com/", 0),
        ("https://example.com/docs", 0),
    ]
    for service in ("extractor", "llm", "exporter"):
        assert (
            await wait_until(
                lambda service=service: conn.fetchval(
                    f"SELECT tenant_id FROM {schema(service)}.run_configs WHERE run_id = $1", run_id
                )
            )
            == tenant
        )
    assert (
        await conn.fetchval(f"SELECT name FROM {schema('llm')}.queries WHERE run_id = $1", run_id)
        == "summary"
    )

    rejected = await consume_all(settings, [topic_for(JobRejected, settings.topic_prefix)], expected=1)
    assert len(rejected) == 1
    reasons = JobRejected.model_validate_json(rejected[0].value).reasons
    assert any(reason.startswith("seeds.0:") for reason in reasons)
    assert any(reason.startswith("limits.max_pages:") for reason in reasons)
    await consumed_everything(settings, "ingest", [JobSubmitted])
    assert (
        await conn.fetchval(f"SELECT count(*) FROM {schema('ingest')}.runs WHERE tenant_id = $1", tenant) == 1
    )


async def test_a_service_runs_as_its_own_process_and_reports_ready(settings: Settings) -> None:
    port = _free_port()
    env = settings_env(settings, TRAWL_HTTP_BASE_PORT=str(port - SERVICES.index("crawler")))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.crawler",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            assert await wait_until(ready, within=60, interval=0.3)
            body = (await client.get("/readyz")).json()
            assert body["checks"] == {"postgres": "ok", "kafka": "ok", "s3": "ok"}
            assert "trawl_events_consumed_total" in (await client.get("/metrics")).text
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
