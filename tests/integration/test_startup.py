"""A normal start prints no errors: the topics a service needs, and the group coordinator, are
ready before its consumers and producer use them."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.llm.app import SPEC
from shared import service
from shared.config import Settings
from shared.events import JobConfig, JobCreated
from shared.kafka import delete_topics, ensure_topics
from shared.producer import publish_direct
from shared.service import ServiceRuntime
from tests.support import TcpProxy, wait_until

pytestmark = pytest.mark.integration


async def test_a_service_starting_on_new_topics_logs_no_error(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with service.running([ServiceRuntime(SPEC, settings, http_port=0)]) as (runtime,):
        assert runtime.pool is not None
        job = JobCreated(
            tenant_id=uuid4(),
            job_id=uuid4(),
            run_id=uuid4(),
            config=JobConfig(seeds=["https://example.com/"]),
            created_at=datetime.now(UTC),
        )
        await publish_direct(settings, [job])
        # The first event handled: the consumer has joined its group and fetched.
        await wait_until(
            lambda: runtime.pool.fetchval("SELECT count(*) = 1 FROM inbox"), what="event handled"
        )
    errors = [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR
    ]
    assert errors == []


async def test_a_service_started_while_the_broker_is_down_waits_for_it(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A process restarted during a broker restart (the chaos run does both) waits for the
    broker and creates its topics then, rather than exiting."""
    caplog.set_level(logging.WARNING)
    host, port = settings.kafka.rsplit(":", 1)
    broker = TcpProxy(host, int(port))  # the broker as the service sees it: down, then up
    await broker.start()
    await broker.cut()
    topic = f"{settings.topic_prefix}late-broker"
    creating = asyncio.create_task(ensure_topics(f"127.0.0.1:{broker.port}", [topic], partitions=1))
    try:
        await wait_until(
            lambda: creating.done() or "does not answer yet" in caplog.text, what="a refused attempt"
        )
        assert not creating.done(), creating.exception()
        await broker.restore()
        assert await asyncio.wait_for(creating, timeout=60) == [topic]
    finally:
        creating.cancel()
        await broker.cut()
        await delete_topics(settings.kafka, [topic])
