"""Poison messages through a real service runtime (FastStream consumer, Kafka, PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared import dlq, service
from shared.config import Settings
from shared.consumer import HandlerContext
from shared.envelope import Envelope
from shared.events import JobConfig, JobCreated, TaskFailed
from shared.kafka import consumer_group
from shared.service import ServiceRuntime, ServiceSpec
from shared.topics import dlq_topic, topic_for
from tests.support import consume_all, consumed_everything, header, wait_until

pytestmark = pytest.mark.integration

FIXTURE_MIGRATIONS = Path(__file__).parent / "fixtures" / "migrations"


async def _handle(ctx: HandlerContext, event: JobCreated) -> None:
    match event.config.name:
        case "poison":
            raise RuntimeError("this job always fails")
        case "network":  # the handler's own I/O failing is its failure, not Postgres's
            raise ConnectionResetError("the site hung up")
        case "slow":
            await asyncio.sleep(60)
        case "huge":  # an event no broker would take must fail here, not jam the relay
            huge = TaskFailed(
                tenant_id=event.tenant_id,
                service="dlqtest",
                task_kind="huge",
                error="x" * 1_000_000,
                attempts=1,
                failed_at=event.created_at,
            )
            await ctx.outbox.publish(huge)
    if event.config.name == "flaky" and not await ctx.conn.fetchval(
        "SELECT 1 FROM effects WHERE note = 'fixed'"
    ):
        raise RuntimeError("not fixed yet")
    await ctx.conn.execute(
        "INSERT INTO effects (run_id, note) VALUES ($1, $2)", event.run_id, event.config.name
    )


SPEC = ServiceSpec(name="dlqtest", handlers={JobCreated: _handle}, migrations_dir=FIXTURE_MIGRATIONS)


def _job(tenant_id: object, name: str) -> JobCreated:
    return JobCreated.model_validate(
        {
            "tenant_id": tenant_id,
            "job_id": uuid4(),
            "run_id": uuid4(),
            "config": JobConfig(name=name, seeds=["https://example.com/"]).model_dump(mode="json"),
            "created_at": datetime.now(UTC),
        }
    )


@contextlib.asynccontextmanager
async def running(
    settings: Settings, attempts: int = 3
) -> AsyncIterator[tuple[ServiceRuntime, asyncpg.Pool]]:
    """The test service, retrying a failing handler `attempts` times with short backoff."""
    quick = settings.model_copy(
        update={
            "handler_max_attempts": attempts,
            "handler_backoff_initial": 0.05,
            "handler_timeout_seconds": 1.0,
        }
    )
    async with service.running([ServiceRuntime(SPEC, quick, http_port=0)]) as (runtime,):
        assert runtime.pool is not None
        yield runtime, runtime.pool


async def test_bad_messages_go_to_the_dlq_with_reasons_and_the_rest_is_processed(settings: Settings) -> None:
    topic = topic_for(JobCreated, settings.topic_prefix)
    tenant = uuid4()
    good = [_job(tenant, f"good-{index}") for index in range(3)]
    poison = _job(tenant, "poison")
    failing = [poison, _job(tenant, "network"), _job(tenant, "slow"), _job(tenant, "huge")]

    def headers_for(event_id_source: JobCreated) -> list[tuple[str, bytes]]:
        return Envelope.new(
            source="test", type=JobCreated.type_name(), subject=str(event_id_source.run_id), tenant_id=tenant
        ).to_headers()

    async with running(settings, attempts=3) as (_, pool):
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
        await producer.start()
        try:
            key = b"one-partition"  # one partition: the good events queue behind the bad ones
            foreign = [("x-foreign-binary", b"\xff\x00\xfe")]  # a producer's own binary header survives
            await producer.send_and_wait(topic, b"{not json", key=key, headers=headers_for(good[0]) + foreign)
            wrong = json.dumps({"tenant_id": str(tenant), "run_id": "not-a-uuid"}).encode()
            await producer.send_and_wait(topic, wrong, key=key, headers=headers_for(good[0]))
            for event in [*failing, *good]:
                await producer.send_and_wait(
                    topic, event.model_dump_json().encode(), key=key, headers=headers_for(event)
                )
        finally:
            await producer.stop()

        assert await wait_until(lambda: pool.fetchval("SELECT count(*) = 3 FROM effects"), within=60)
        names = sorted(row["note"] for row in await pool.fetch("SELECT note FROM effects"))
        assert names == ["good-0", "good-1", "good-2"]
        dead = await consume_all(settings, [dlq_topic(topic)], expected=6)
        failed = await consume_all(settings, [topic_for(TaskFailed, settings.topic_prefix)], expected=4)

    reasons = [header(record, "dlq_reason") for record in dead]
    assert reasons == ["undecodable", "schema", "handler", "handler", "handler", "handler"]
    assert dead[0].value == b"{not json"
    assert next(value for name, value in dead[0].headers if name == "x-foreign-binary") == (b"\xff\x00\xfe")
    assert "payload is not JSON" in (header(dead[0], "dlq_error") or "")
    assert "run_id" in (header(dead[1], "dlq_error") or "")
    assert "this job always fails" in (header(dead[2], "dlq_error") or "")
    assert header(dead[2], "dlq_attempts") == "3"
    assert "ConnectionResetError: the site hung up" in (header(dead[3], "dlq_error") or "")
    assert "TimeoutError" in (header(dead[4], "dlq_error") or "")
    assert "EventTooLarge" in (header(dead[5], "dlq_error") or "")
    assert all(header(record, "dlq_source_topic") == topic for record in dead)

    # TaskFailed is keyed by run, so the four land on different partitions: match them by run.
    by_run = {TaskFailed.model_validate_json(record.value).run_id: record for record in failed}
    assert set(by_run) == {event.run_id for event in failing}
    task_failed = TaskFailed.model_validate_json(by_run[poison.run_id].value)
    assert task_failed.service == "dlqtest"
    assert task_failed.attempts == 3
    assert "this job always fails" in task_failed.error
    assert header(by_run[poison.run_id], "causation_id") == header(dead[2], "ce_id")


async def test_a_dead_letter_replayed_after_the_fix_is_processed_once(settings: Settings) -> None:
    topic = topic_for(JobCreated, settings.topic_prefix)
    tenant = uuid4()
    flaky = _job(tenant, "flaky")
    headers = Envelope.new(
        source="test", type=JobCreated.type_name(), subject=None, tenant_id=tenant
    ).to_headers()
    async with running(settings, attempts=2) as (_, pool):
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
        await producer.start()
        try:
            await producer.send_and_wait(topic, flaky.model_dump_json().encode(), headers=headers)
            await consume_all(settings, [dlq_topic(topic)], expected=1)
            # A plain redelivery of the same event (same ce_id) is not dead-lettered twice.
            await producer.send_and_wait(topic, flaky.model_dump_json().encode(), headers=headers)
        finally:
            await producer.stop()
        assert await wait_until(
            lambda: pool.fetchval(
                "SELECT outcome = 'dead_lettered' FROM inbox WHERE event_id = $1", _id(headers)
            )
        )
        await consumed_everything(settings, "dlqtest", [JobCreated])  # the redelivery too
        letters = await dlq.pending(settings)
        assert [(letter.source_topic, letter.reason) for letter in letters] == [(topic, "handler")]
        assert "not fixed yet" in letters[0].error

        await pool.execute("INSERT INTO effects (run_id, note) VALUES ($1, 'fixed')", uuid4())
        assert len(await dlq.replay(settings)) == 1
        assert await wait_until(
            lambda: pool.fetchval("SELECT count(*) = 1 FROM effects WHERE note = 'flaky'")
        )
        assert await dlq.pending(settings) == []
        assert await dlq.replay(settings) == []
        await consumed_everything(settings, "dlqtest", [JobCreated])
        assert await pool.fetchval("SELECT count(*) FROM effects WHERE note = 'flaky'") == 1
        assert await pool.fetchval("SELECT outcome FROM inbox WHERE event_id = $1", _id(headers)) == "handled"


def _id(headers: list[tuple[str, bytes]]) -> UUID:
    return UUID(next(value.decode() for name, value in headers if name == "ce_id"))


async def test_a_replay_redelivered_after_failing_again_is_dead_lettered_once(settings: Settings) -> None:
    """A replayed event that fails again is dead-lettered again (once per replay); the same
    replayed record delivered a second time — as after a crash between dead-lettering it and
    committing its offset — is a redelivery, not a second dead letter."""
    topic = topic_for(JobCreated, settings.topic_prefix)
    tenant = uuid4()
    poison = _job(tenant, "poison")
    headers = Envelope.new(
        source="test", type=JobCreated.type_name(), subject=None, tenant_id=tenant
    ).to_headers()
    async with running(settings, attempts=2) as (_, pool):
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
        await producer.start()
        try:
            await producer.send_and_wait(topic, poison.model_dump_json().encode(), headers=headers)
            await consume_all(settings, [dlq_topic(topic)], expected=1)
            (first,) = await dlq.pending(settings)
            assert len(await dlq.replay(settings)) == 1  # not fixed: it fails again
            await consume_all(settings, [dlq_topic(topic)], expected=2)
            await consumed_everything(settings, "dlqtest", [JobCreated])
            # The same replayed record again, exactly as the replay sent it.
            await producer.send_and_wait(topic, first.value, key=first.key, headers=first.replay_headers())
        finally:
            await producer.stop()
        await consumed_everything(settings, "dlqtest", [JobCreated])
        letters = await dlq.pending(settings)
        assert len(letters) == 1, [(letter.offset, letter.reason) for letter in letters]
        assert (letters[0].partition, letters[0].offset) != (first.partition, first.offset)
        assert "this job always fails" in letters[0].error
        assert await pool.fetchval("SELECT outcome FROM inbox WHERE event_id = $1", _id(headers)) == (
            "dead_lettered"
        )


async def test_a_refused_record_delivered_again_is_dead_lettered_once(settings: Settings) -> None:
    """A record refused before its handler (not JSON) whose offset was not committed — a crash
    right after dead-lettering it — comes again from the same position: one dead letter."""
    topic = topic_for(JobCreated, settings.topic_prefix)
    headers = Envelope.new(
        source="test", type=JobCreated.type_name(), subject=None, tenant_id=uuid4()
    ).to_headers()
    marker = f"{{not json {uuid4()}".encode()
    async with running(settings) as _:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
        await producer.start()
        try:
            sent = await producer.send_and_wait(topic, marker, headers=headers)
        finally:
            await producer.stop()
        await consumed_everything(settings, "dlqtest", [JobCreated])
    # Rewind the stopped service's group to the refused record, as if its commit never happened.
    rewind = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka,
        group_id=consumer_group(settings, "dlqtest"),
        enable_auto_commit=False,
    )
    await rewind.start()
    try:
        rewind.assign([TopicPartition(topic, sent.partition)])
        await rewind.commit({TopicPartition(topic, sent.partition): sent.offset})
    finally:
        await rewind.stop()
    async with running(settings) as _:
        await consumed_everything(settings, "dlqtest", [JobCreated])
    letters = [letter for letter in await dlq.pending(settings) if letter.value == marker]
    assert [(letter.reason, letter.header("dlq_source_offset")) for letter in letters] == [
        ("undecodable", str(sent.offset))
    ]
