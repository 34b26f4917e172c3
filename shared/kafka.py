"""Kafka wiring: topic creation, the FastStream broker and the per-service subscriber.

Consumption goes through FastStream (one consumer group per service, manual commit after
the handler's transaction); production goes only through the outbox relay's idempotent
aiokafka producer (`shared.outbox.kafka_producer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from shared import metrics
from shared.config import Settings
from shared.consumer import EventConsumer
from shared.topics import topic_for

log = logging.getLogger(__name__)


class _TopicsAreCreatedByUs(logging.Filter):
    """FastStream reminds consumer-only brokers to create topics; `ensure_topics` does."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Topic creation is skipped" not in record.getMessage()


_faststream_log = logging.getLogger(f"{__name__}.faststream")
_faststream_log.addFilter(_TopicsAreCreatedByUs())


async def ensure_topics(
    bootstrap: str, topics: Iterable[str], *, partitions: int, replication: int = 1
) -> list[str]:
    """Create the topics that do not exist yet, and wait until they and the group coordinator
    answer (a consumer or producer started a moment too early logs errors while it retries);
    returns the topics created."""
    admin = await _admin_once_the_broker_answers(bootstrap)
    try:
        missing = await _create_missing(admin, topics, partitions=partitions, replication=replication)
        await _until_ready(bootstrap, admin, missing)
        return missing
    finally:
        await admin.close()


_READY_TIMEOUT = 30.0
# A service (re)started while the broker restarts waits this long for it rather than exiting.
_BROKER_WAIT_SECONDS = 120.0


async def _admin_once_the_broker_answers(bootstrap: str) -> AIOKafkaAdminClient:
    deadline = time.monotonic() + _BROKER_WAIT_SECONDS
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await admin.start()
            return admin
        except KafkaConnectionError:
            await admin.close()
            if time.monotonic() > deadline:
                raise
            log.warning("Kafka at %s does not answer yet; trying again", bootstrap)
            await asyncio.sleep(1.0)


async def _create_missing(
    admin: AIOKafkaAdminClient, topics: Iterable[str], *, partitions: int, replication: int
) -> list[str]:
    existing = set(await admin.list_topics())
    missing = [topic for topic in dict.fromkeys(topics) if topic not in existing]
    if missing:
        response = await admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=replication) for topic in missing]
        )
        # (topic, error code, message); "already exists" means another process won the race.
        for topic, code, message in response.topic_errors:
            if code not in (0, TopicAlreadyExistsError.errno):
                raise RuntimeError(f"creating topic {topic} failed: error {code} {message}")
    return missing


async def _until_ready(bootstrap: str, admin: AIOKafkaAdminClient, created: list[str]) -> None:
    """Every partition of the new topics answers for its offsets at its leader (the cluster's
    metadata names a leader a moment before the leader serves), and consumer groups have a
    coordinator (the first FindCoordinator of a fresh cluster creates its offsets topic)."""
    async with asyncio.timeout(_READY_TIMEOUT):
        while created:
            described = await admin.describe_topics(created)
            if len(described) == len(created) and all(
                topic["error_code"] == 0 and all(part["leader"] >= 0 for part in topic["partitions"])
                for topic in described
            ):
                break
            await asyncio.sleep(0.1)
        if created:
            offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
            await offsets.start()
            try:
                await offsets.end_offsets(await topic_partitions(admin, created))
            finally:
                await offsets.stop()
        while True:
            try:
                await admin.find_coordinator("trawl-readiness")
                return
            except KafkaError:
                await asyncio.sleep(0.1)


async def delete_topics(bootstrap: str, topics: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        wanted = set(topics) & set(await admin.list_topics())
        if wanted:
            await admin.delete_topics(sorted(wanted))
    finally:
        await admin.close()


async def topic_partitions(admin: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    """Every partition of the existing topics among `topics`."""
    described = await admin.describe_topics(topics)
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic["error_code"] == 0
        for partition in topic["partitions"]
    ]


def build_broker(settings: Settings, service: str) -> KafkaBroker:
    # Per-message "Received"/"Processed" lines at DEBUG: our consumer logs outcomes with the
    # event and run ids in context, which FastStream's lines cannot carry.
    return KafkaBroker(
        settings.kafka,
        client_id=f"trawl-{service}",
        consumer_only=True,
        logger=_faststream_log,
        log_level=logging.DEBUG,
    )


async def _tolerant_parser(
    records: tuple[ConsumerRecord[bytes, bytes], ...],
    original: Callable[[Any], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """FastStream decodes header values as UTF-8 and drops records it cannot: a foreign
    producer's binary header would lose the batch before our consumer sees it. Parse readable
    copies instead and keep the untouched records as the raw message (the DLQ copy and the
    envelope are made from them)."""
    try:
        return await original(records)
    except UnicodeDecodeError:
        message = await original(tuple(_readable(record) for record in records))
        message.raw_message = records
        return message


def _readable(record: ConsumerRecord[bytes, bytes]) -> ConsumerRecord[bytes, bytes]:
    readable = dataclasses.replace(
        record, headers=[(name, value.decode("latin-1").encode()) for name, value in record.headers]
    )
    if hasattr(record, "consumer"):
        readable.consumer = record.consumer
    return readable


async def _raw_bodies(message: StreamMessage[object]) -> list[bytes]:
    """Hand the handler undecoded bytes: decoding and validation are ours (bad ones go to the DLQ)."""
    return [record.value or b"" for record in message.raw_message]  # type: ignore[attr-defined]


def consumer_group(settings: Settings, service: str) -> str:
    return f"{settings.topic_prefix}{service}"


def consumed_topics(consumer: EventConsumer, settings: Settings) -> list[str]:
    return [topic_for(event_type, settings.topic_prefix) for event_type in consumer.event_types]


def subscribe(broker: KafkaBroker, consumer: EventConsumer, settings: Settings, service: str) -> None:
    topics = consumed_topics(consumer, settings)
    if not topics:
        return

    @broker.subscriber(
        *topics,
        group_id=consumer_group(settings, service),
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.consumer_batch_size,
        batch_timeout_ms=200,
        parser=_tolerant_parser,
        decoder=_raw_bodies,
        max_poll_interval_ms=10 * 60 * 1000,
        title=f"{service}-consumer",
    )
    async def on_records(bodies: list[bytes], message: KafkaMessage) -> None:
        # Offsets are committed (ack) only once every record's outcome is durably recorded.
        await consumer.process_batch(message.raw_message)
        await message.ack()


class LagMonitor:
    """Consumer lag of one group: end offset minus committed offset, per partition."""

    def __init__(self, bootstrap: str, group: str, topics: list[str]) -> None:
        self._group = group
        self._topics = set(topics)
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def start(self) -> None:
        await self._admin.start()
        await self._offsets.start()

    async def stop(self) -> None:
        await self._offsets.stop()
        await self._admin.close()

    async def measure(self) -> dict[TopicPartition, int]:
        partitions = await topic_partitions(self._admin, sorted(self._topics))
        if not partitions:
            return {}
        committed = await self._admin.list_consumer_group_offsets(self._group, partitions=partitions)
        ends = await self._offsets.end_offsets(partitions)
        starts = await self._offsets.beginning_offsets(partitions)

        def consumed_up_to(tp: TopicPartition) -> int:
            # A partition the group never committed is read from its start (auto_offset_reset=earliest).
            offset = committed[tp].offset if tp in committed else -1
            return int(offset) if offset >= 0 else int(starts[tp])

        return {tp: max(0, ends[tp] - consumed_up_to(tp)) for tp in partitions}

    async def report_forever(self, service: str, interval: float = 15.0) -> None:
        while True:
            with contextlib.suppress(KafkaError, OSError):
                for tp, lag in (await self.measure()).items():
                    metrics.CONSUMER_LAG.labels(service, tp.topic, str(tp.partition)).set(lag)
            await asyncio.sleep(interval)
