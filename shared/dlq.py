"""Dead-letter topics: see what failed, and replay it after a fix (`trawl dlq list|replay`).

Replay re-publishes each pending dead letter to its source topic with its original headers
(ids included, so effects stay exactly-once) plus `trawl_replayed_from`, which tells the
consumer's inbox that this event may run again although it was dead-lettered. Progress is a
consumer group of its own: a record is replayed once, and `list` shows what is still pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.config import Settings
from shared.envelope import REPLAY_HEADER
from shared.kafka import topic_partitions
from shared.outbox import kafka_producer
from shared.topics import all_topics

_DLQ_HEADER_PREFIX = "dlq_"


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str:
        return next((value.decode("utf-8", "replace") for key, value in self.headers if key == name), "")

    @property
    def source_topic(self) -> str:
        return self.header("dlq_source_topic") or self.topic.removesuffix(".dlq")

    @property
    def reason(self) -> str:
        return self.header("dlq_reason")

    @property
    def error(self) -> str:
        return self.header("dlq_error")

    def replay_headers(self) -> list[tuple[str, bytes]]:
        kept = [
            (name, value)
            for name, value in self.headers
            if not name.startswith(_DLQ_HEADER_PREFIX) and name != REPLAY_HEADER
        ]
        return [*kept, (REPLAY_HEADER, f"{self.topic}/{self.partition}@{self.offset}".encode())]


def dlq_topics(settings: Settings, only: Sequence[str] = ()) -> list[str]:
    """The DLQ topics, or those of them whose name contains one of `only` (e.g. 'page-fetched')."""
    topics = [topic for topic in all_topics(settings.topic_prefix) if topic.endswith(".dlq")]
    return [topic for topic in topics if not only or any(part in topic for part in only)]


def _replay_group(settings: Settings) -> str:
    return f"{settings.topic_prefix}trawl-dlq-replay"


async def _partitions(settings: Settings, topics: list[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        return await topic_partitions(admin, topics)
    finally:
        await admin.close()


async def _read_pending(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> list[tuple[DeadLetter, Any]]:
    """Every record from the replay group's position to the end as it was when we started."""
    if not partitions:
        return []
    consumer.assign(partitions)
    ends = await consumer.end_offsets(partitions)
    committed = {tp: await consumer.committed(tp) for tp in partitions}
    for tp in partitions:
        consumer.seek(tp, committed[tp] or 0)
    found: list[tuple[DeadLetter, Any]] = []
    remaining = {tp for tp in partitions if (committed[tp] or 0) < ends[tp]}
    while remaining:
        batch = await consumer.getmany(*remaining, timeout_ms=1000)
        for tp, records in batch.items():
            for record in records:
                if record.offset < ends[tp]:
                    letter = DeadLetter(
                        record.topic,
                        record.partition,
                        record.offset,
                        record.key,
                        record.value or b"",
                        list(record.headers),
                    )
                    found.append((letter, tp))
        remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    return found


def _consumer(settings: Settings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka, group_id=_replay_group(settings), enable_auto_commit=False
    )


async def pending(settings: Settings, only: Sequence[str] = ()) -> list[DeadLetter]:
    """Dead letters not replayed yet."""
    consumer = _consumer(settings)
    await consumer.start()
    try:
        partitions = await _partitions(settings, dlq_topics(settings, only))
        return [letter for letter, _ in await _read_pending(consumer, partitions)]
    finally:
        await consumer.stop()


async def replay(settings: Settings, only: Sequence[str] = ()) -> list[DeadLetter]:
    """Re-publish every pending dead letter to its source topic; returns what was replayed."""
    consumer = _consumer(settings)
    producer = kafka_producer(settings.kafka, client_id="trawl-dlq-replay")
    await consumer.start()
    await producer.start()
    try:
        found = await _read_pending(consumer, await _partitions(settings, dlq_topics(settings, only)))
        deliveries = [
            await producer.send(
                letter.source_topic, value=letter.value, key=letter.key, headers=letter.replay_headers()
            )
            for letter, _ in found
        ]
        for delivery in deliveries:
            await delivery
        offsets: dict[TopicPartition, int] = {}
        for letter, tp in found:
            offsets[tp] = max(offsets.get(tp, 0), letter.offset + 1)
        if offsets:
            await consumer.commit(offsets)
        return [letter for letter, _ in found]
    finally:
        await producer.stop()
        await consumer.stop()
