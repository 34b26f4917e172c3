"""Outbox + relay + inbox against the real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from prometheus_client import REGISTRY

from shared.config import Settings
from shared.consumer import EventConsumer, HandlerContext, Outcome, RetryPolicy, prune_inbox
from shared.db import create_pool
from shared.events import RunCancelled
from shared.outbox import Outbox, OutboxRelay, kafka_producer
from shared.topics import topic_for
from shared.uow import Database
from tests.support import consume_all, header, prepare, running_relay, settings_env

pytestmark = pytest.mark.integration

FIXTURE_MIGRATIONS = Path(__file__).parent / "fixtures" / "migrations"


class _Rollback(Exception):
    pass


def _event(tenant: UUID, run: UUID, sequence: int) -> RunCancelled:
    return RunCancelled(tenant_id=tenant, run_id=run, reason=str(sequence), cancelled_at=datetime.now(UTC))


async def test_only_committed_events_are_published_in_per_key_order(settings: Settings) -> None:
    await prepare(settings, "relaytest")
    pool = await create_pool(settings, "relaytest")
    tenant, runs = uuid4(), [uuid4() for _ in range(10)]
    committed: dict[UUID, list[int]] = defaultdict(list)
    try:
        sequence = 0
        for transaction in range(200):  # 200 transactions x 5 events = 1,000 events
            rolls_back = transaction % 4 == 3
            events = []
            for _ in range(5):
                run = runs[sequence % len(runs)]
                events.append(_event(tenant, run, sequence))
                sequence += 1
            with pytest.raises(_Rollback) if rolls_back else contextlib.nullcontext():
                async with pool.acquire() as conn, conn.transaction():
                    await Outbox(conn, source="test", topic_prefix=settings.topic_prefix).publish_many(events)
                    if rolls_back:
                        raise _Rollback
            if not rolls_back:
                for event in events:
                    committed[event.run_id].append(int(event.reason or 0))
        expected = sum(len(sequences) for sequences in committed.values())
        assert expected == 750

        async with running_relay(pool, settings, "relaytest"):
            records = await consume_all(
                settings, [topic_for(RunCancelled, settings.topic_prefix)], expected=expected
            )
    finally:
        await pool.close()

    published: dict[UUID, list[int]] = defaultdict(list)
    for record in records:
        event = RunCancelled.model_validate_json(record.value)
        assert record.key == str(event.run_id).encode()
        assert header(record, "ce_type") == "trawl.run-cancelled.v1"
        published[event.run_id].append(int(event.reason or 0))
    assert dict(published) == dict(committed)  # same events, and per key in commit order


async def test_relay_killed_between_produce_and_mark_delivers_everything_effects_once(
    settings: Settings,
) -> None:
    schema = await prepare(settings, "relaytest", FIXTURE_MIGRATIONS)
    pool = await create_pool(settings, "relaytest")
    tenant = uuid4()
    events = [_event(tenant, uuid4(), sequence) for sequence in range(300)]
    try:
        async with pool.acquire() as conn, conn.transaction():
            await Outbox(conn, source="test", topic_prefix=settings.topic_prefix).publish_many(events)

        child = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(Path(__file__).parent / "relay_killed_after_produce.py"), schema],
            env=settings_env(settings),
            capture_output=True,
            timeout=120,
        )
        assert child.returncode == -9, child.stderr.decode()[-2000:]
        pending = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        assert pending == 300, "the killed relay must not have marked its produced batch"

        async with running_relay(pool, settings, "relaytest"):
            records = await consume_all(
                settings, [topic_for(RunCancelled, settings.topic_prefix)], expected=600
            )
            assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0

        delivered = [header(record, "ce_id") for record in records]
        assert len(delivered) == 600, "the batch produced before the kill is published again"
        assert len(set(delivered)) == 300

        consumer = EventConsumer(
            db=Database(pool, service="relaytest", topic_prefix=settings.topic_prefix),
            handlers={RunCancelled: _record_effect},
            retry=RetryPolicy(max_attempts=1),
        )
        outcomes = [await consumer.process(record) for record in records]
        assert outcomes.count(Outcome.OK) == 300
        assert outcomes.count(Outcome.DUPLICATE) == 300
        assert await pool.fetchval("SELECT count(*) FROM effects") == 300
        assert await pool.fetchval("SELECT count(DISTINCT run_id) FROM effects") == 300
    finally:
        await pool.close()


async def _record_effect(ctx: HandlerContext, event: RunCancelled) -> None:
    await ctx.conn.execute("INSERT INTO effects (run_id, note) VALUES ($1, $2)", event.run_id, event.reason)


async def test_published_rows_and_old_inbox_ids_are_pruned_after_retention(settings: Settings) -> None:
    await prepare(settings, "relaytest")
    pool = await create_pool(settings, "relaytest")
    tenant = uuid4()
    try:
        async with pool.acquire() as conn, conn.transaction():
            await Outbox(conn, source="test", topic_prefix=settings.topic_prefix).publish_many(
                [_event(tenant, uuid4(), sequence) for sequence in range(5)]
            )
        producer = kafka_producer(settings.kafka)
        await producer.start()
        try:
            relay = OutboxRelay(
                pool,
                producer,
                service="relaytest",
                schema=settings.schema_for("relaytest"),
                retention_seconds=3600,
            )
            assert await relay.drain() == 5
            await relay.housekeeping()
            assert await pool.fetchval("SELECT count(*) FROM outbox") == 5, "kept within the retention period"
            await pool.execute("UPDATE outbox SET published_at = now() - interval '2 hours'")
            async with pool.acquire() as conn, conn.transaction():
                await Outbox(conn, source="test", topic_prefix=settings.topic_prefix).publish(
                    _event(tenant, uuid4(), 99)
                )
            await relay.housekeeping()
        finally:
            await producer.stop()
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 1, (
            "old published rows pruned, pending kept"
        )
        assert REGISTRY.get_sample_value("trawl_outbox_pending", {"service": "relaytest"}) == 1

        await pool.execute(
            """INSERT INTO inbox (event_id, event_type, outcome, received_at)
               VALUES ($1, 't', 'handled', now() - interval '8 days'), ($2, 't', 'handled', now())""",
            uuid4(),
            uuid4(),
        )
        assert await prune_inbox(pool, retention_seconds=7 * 24 * 3600) == 1
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 1
    finally:
        await pool.close()
