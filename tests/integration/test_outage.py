"""Postgres unreachable while a service handles an event: nothing lost, nothing dead-lettered."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import pytest
from prometheus_client import REGISTRY

from shared.config import Settings
from shared.db import connect_admin
from shared.events import JobCreated
from shared.producer import publish_direct
from shared.topics import dlq_topic, topic_for
from tests.integration.test_dlq import _job, running
from tests.support import TcpProxy, consume_all, consumed_everything, wait_until

pytestmark = pytest.mark.integration


async def test_an_event_handled_during_a_postgres_outage_is_applied_once_after_it(settings: Settings) -> None:
    dsn = urlsplit(settings.postgres_dsn)
    proxy = TcpProxy(dsn.hostname or "127.0.0.1", dsn.port or 5432)
    await proxy.start()
    netloc = dsn.netloc.replace(f"{dsn.hostname}:{dsn.port}", f"127.0.0.1:{proxy.port}")
    through_proxy = settings.model_copy(update={"pg_dsn": urlunsplit(dsn._replace(netloc=netloc))})
    through_proxy.__dict__.pop("postgres_dsn", None)  # recompute the cached DSN from pg_dsn

    async with running(through_proxy, attempts=2):
        retried_before, attempts_before = _retried(), _attempts()
        await proxy.cut()
        event = _job(uuid4(), "during-outage")
        await publish_direct(settings, [event])
        # More handler attempts than the two the event may spend, all while Postgres is away.
        await wait_until(lambda: _attempts() - attempts_before >= 3, within=60, what="handler attempts")
        await proxy.restore()

        direct = await connect_admin(settings)
        try:
            effects = f"{settings.schema_for('dlqtest')}.effects"
            assert await wait_until(
                lambda: direct.fetchval(f"SELECT count(*) = 1 FROM {effects} WHERE note = 'during-outage'"),
                within=60,
            )
            await consumed_everything(settings, "dlqtest", [JobCreated])
            assert await direct.fetchval(f"SELECT count(*) FROM {effects}") == 1
            assert _retried() == retried_before, "an outage must not spend the event's attempts"
        finally:
            await direct.close()
    assert (
        await consume_all(settings, [dlq_topic(topic_for(JobCreated, settings.topic_prefix))], expected=0)
        == []
    )


def _attempts() -> float:
    """Handler attempts of the test service, failed ones included (each observes its duration)."""
    labels = {"service": "dlqtest", "event_type": JobCreated.type_name()}
    return REGISTRY.get_sample_value("trawl_handler_seconds_count", labels) or 0.0


def _retried() -> float:
    labels = {"service": "dlqtest", "event_type": JobCreated.type_name(), "outcome": "retried"}
    return REGISTRY.get_sample_value("trawl_events_consumed_total", labels) or 0.0
