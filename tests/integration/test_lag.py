"""Consumer lag as the services report it, against the real broker."""

from __future__ import annotations

from uuid import uuid4

import pytest

from shared.config import Settings
from shared.events import JobCreated
from shared.kafka import LagMonitor, consumer_group
from shared.producer import publish_direct
from shared.topics import topic_for
from tests.integration.test_dlq import _job, running
from tests.support import wait_until

pytestmark = pytest.mark.integration


async def test_lag_is_what_the_group_has_not_committed(settings: Settings) -> None:
    tenant = uuid4()
    async with running(settings) as (_, pool):
        await publish_direct(settings, [_job(tenant, f"first-{index}") for index in range(3)])
        assert await wait_until(lambda: pool.fetchval("SELECT count(*) = 3 FROM effects"))

    await publish_direct(settings, [_job(tenant, f"later-{index}") for index in range(2)])
    monitor = LagMonitor(
        settings.kafka, consumer_group(settings, "dlqtest"), [topic_for(JobCreated, settings.topic_prefix)]
    )
    await monitor.start()
    try:
        lag = await monitor.measure()
    finally:
        await monitor.stop()
    assert sum(lag.values()) == 2
    assert {tp.topic for tp in lag} == {topic_for(JobCreated, settings.topic_prefix)}
