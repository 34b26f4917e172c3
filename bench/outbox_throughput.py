"""Outbox + relay throughput against a raw aiokafka producer, same broker, same run.

    python bench/outbox_throughput.py [--events 100000] [--payload-bytes 1024]

Both sides use the relay's producer settings (idempotent, acks=all, 5 ms linger). The outbox
side is timed from the first INSERT to the moment the relay has published the last row, with
the writers committing transactions of `--tx-size` events while the relay drains, as in a
service. Uses the local stack (started if needed) or the TRAWL_* servers; cleans up after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg

from shared import migrations
from shared.config import Settings
from shared.db import connect_admin, create_pool
from shared.events import TaskFailed
from shared.kafka import delete_topics, ensure_topics
from shared.outbox import Outbox, OutboxRelay, kafka_producer
from shared.topics import topic_for
from trawl import localstack

SERVICE = "bench"


def _events(count: int, payload_bytes: int) -> list[TaskFailed]:
    tenant, now = uuid4(), datetime.now(UTC)

    def event(index: int, error: str) -> TaskFailed:
        return TaskFailed(
            tenant_id=tenant,
            service="bench",
            task_kind="bench",
            run_id=uuid4(),
            error=error,
            attempts=index,
            failed_at=now,
        )

    overhead = len(event(0, "").model_dump_json())
    filler = "x" * max(0, payload_bytes - overhead)
    return [event(index, filler) for index in range(count)]


async def raw_producer(settings: Settings, topic: str, events: list[TaskFailed]) -> float:
    payloads = [(event.partition_key().encode(), event.model_dump_json().encode()) for event in events]
    producer = kafka_producer(settings.kafka, client_id="bench-raw")
    await producer.start()
    try:
        started = time.perf_counter()
        deliveries = [await producer.send(topic, value=value, key=key) for key, value in payloads]
        await asyncio.gather(*deliveries)
        return time.perf_counter() - started
    finally:
        await producer.stop()


@dataclass
class OutboxFigures:
    concurrent_written: float  # writers and relay in one process, as in a service
    concurrent_published: float
    alone_written: float  # the same work one after the other, to see each side's cost
    alone_published: float


async def outbox_and_relay(settings: Settings, events: list[TaskFailed], tx_size: int) -> OutboxFigures:
    pool = await create_pool(settings, SERVICE, max_size=4)
    producer = kafka_producer(settings.kafka, client_id="bench-relay")
    await producer.start()
    relay = OutboxRelay(
        pool,
        producer,
        service=SERVICE,
        schema=settings.schema_for(SERVICE),
        batch_size=settings.outbox_batch_size,
    )
    try:
        relay_task = asyncio.create_task(relay.run())
        try:
            started = time.perf_counter()
            await _write(pool, settings, events, tx_size)
            concurrent_written = time.perf_counter() - started
            while relay.published < len(events):
                if relay_task.done():
                    raise RuntimeError("the relay stopped before publishing everything")
                await asyncio.sleep(0.01)
            concurrent_published = time.perf_counter() - started
        finally:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task

        started = time.perf_counter()
        await _write(pool, settings, events, tx_size)
        alone_written = time.perf_counter() - started
        started = time.perf_counter()
        await relay.drain()
        alone_published = time.perf_counter() - started
        return OutboxFigures(concurrent_written, concurrent_published, alone_written, alone_published)
    finally:
        await producer.stop()
        await pool.close()


async def _write(pool: asyncpg.Pool, settings: Settings, events: list[TaskFailed], tx_size: int) -> None:
    for offset in range(0, len(events), tx_size):
        async with pool.acquire() as conn, conn.transaction():
            outbox = Outbox(conn, source=SERVICE, topic_prefix=settings.topic_prefix)
            await outbox.publish_many(events[offset : offset + tx_size])


async def main(args: argparse.Namespace, base: Settings) -> None:
    tag = uuid4().hex[:8]
    settings = base.model_copy(update={"topic_prefix": f"bench{tag}.", "schema_prefix": f"bench{tag}_"})
    outbox_topic = topic_for(TaskFailed, settings.topic_prefix)
    raw_topic = f"{settings.topic_prefix}raw"
    await ensure_topics(settings.kafka, [outbox_topic, raw_topic], partitions=settings.topic_partitions)
    conn = await connect_admin(settings)
    await migrations.migrate(conn, settings.schema_for(SERVICE), migrations.discover(None))
    try:
        events = _events(args.events, args.payload_bytes)
        size = len(events[0].model_dump_json())
        print(f"{args.events:,} x {size} bytes, {settings.topic_partitions} partitions on {settings.kafka}")
        raw_seconds = await raw_producer(settings, raw_topic, events)
        figures = await outbox_and_relay(settings, events, args.tx_size)

        def rate(seconds: float) -> str:
            return f"{args.events / seconds:,.0f} events/s"

        peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows = [
            ("raw aiokafka producer", rate(raw_seconds), f"{raw_seconds:.2f} s"),
            (
                "outbox + relay",
                rate(figures.concurrent_published),
                "writers and relay together, insert to publish",
            ),
            ("  of which writes", rate(figures.concurrent_written), f"transactions of {args.tx_size}"),
            ("outbox writes alone", rate(figures.alone_written), "COPY into the outbox, relay stopped"),
            ("relay alone", rate(figures.alone_published), "draining the filled outbox"),
            ("ratio outbox/raw", f"{raw_seconds / figures.concurrent_published:.2f}", "end to end"),
            ("ratio relay/raw", f"{raw_seconds / figures.alone_published:.2f}", "the relay's own cost"),
            ("peak RSS", f"{peak_rss_mib:,.0f} MiB", ""),
        ]
        for label, figure, note in rows:
            print(f"{label:<22} {figure:>18}  {note}")
    finally:
        await migrations.drop_schema(conn, settings.schema_for(SERVICE))
        await conn.close()
        await delete_topics(settings.kafka, [outbox_topic, raw_topic])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--payload-bytes", type=int, default=1024)
    parser.add_argument("--tx-size", type=int, default=1000)
    settings = Settings()
    if any(component.state == "stopped" for component in localstack.status(settings)):
        localstack.up(settings)
    asyncio.run(main(parser.parse_args(), settings))
