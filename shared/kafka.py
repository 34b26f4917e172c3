"""Kafka wiring: topic creation, the FastStream broker and the per-service subscriber.

Consumption goes through FastStream (one consumer group per service, manual commit after
the handler's transaction); production goes only through the outbox relay's idempotent
aiokafka producer (`shared.outbox.kafka_producer`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

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
    """Create the topics that do not exist yet; returns the ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in dict.fromkeys(topics) if topic not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(topic, num_partitions=partitions, replication_factor=replication)
                    for topic in missing
                ]
            )
            for topic, code, message in getattr(
                response, "topic_errors", getattr(response, "topic_error_codes", [])
            ):
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"creating topic {topic} failed: error {code} {message}")
        return missing
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, topics: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        wanted = set(topics) & set(await admin.list_topics())
        if wanted:
            await admin.delete_topics(sorted(wanted))
    finally:
        await admin.close()


def build_broker(settings: Settings, service: str) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka, client_id=f"trawl-{service}", consumer_only=True, logger=_faststream_log
    )


async def _raw_body(message: StreamMessage[object]) -> bytes:
    """Hand the handler undecoded bytes: decoding and validation are ours (bad ones go to the DLQ)."""
    return message.body


def subscribe(broker: KafkaBroker, consumer: EventConsumer, settings: Settings, service: str) -> None:
    topics = [topic_for(event_type, settings.topic_prefix) for event_type in consumer.event_types]
    if not topics:
        return

    @broker.subscriber(
        *topics,
        group_id=f"{settings.topic_prefix}{service}",
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        decoder=_raw_body,
        max_poll_interval_ms=10 * 60 * 1000,
        title=f"{service}-consumer",
    )
    async def on_record(body: bytes, message: KafkaMessage) -> None:
        await consumer.process(message.raw_message)  # type: ignore[arg-type]
        await message.ack()
