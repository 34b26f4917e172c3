"""A normal start prints no errors: the topics a service needs, and the group coordinator, are
ready before its consumers and producer use them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.llm.app import SPEC
from shared import service
from shared.config import Settings
from shared.events import JobConfig, JobCreated
from shared.producer import publish_direct
from shared.service import ServiceRuntime
from tests.support import wait_until

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
