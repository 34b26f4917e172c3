"""Publishing as an external producer (the CLI, tools, tests) straight to Kafka.

Services never use this: they publish through their outbox. A producer outside the platform,
such as `trawl submit`, has no state to keep consistent with its events.
"""

from __future__ import annotations

from shared.config import Settings
from shared.envelope import Envelope
from shared.events import Event
from shared.outbox import kafka_producer
from shared.topics import topic_for


async def publish_direct(
    settings: Settings, events: list[Event], *, source: str = "trawl-cli"
) -> list[Envelope]:
    producer = kafka_producer(settings.kafka, client_id=source)
    await producer.start()
    try:
        envelopes = []
        for event in events:
            envelope = Envelope.new(
                source=source, type=event.type_name(), subject=event.subject(), tenant_id=event.tenant_id
            )
            await producer.send_and_wait(
                topic_for(type(event), settings.topic_prefix),
                value=event.model_dump_json().encode(),
                key=event.partition_key().encode(),
                headers=envelope.to_headers(),
            )
            envelopes.append(envelope)
        return envelopes
    finally:
        await producer.stop()
