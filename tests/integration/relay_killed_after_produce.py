"""Runs an outbox relay that SIGKILLs itself after producing its first batch to Kafka and
before marking it published: the crash window the outbox must survive.

Usage: python relay_killed_after_produce.py SCHEMA  (servers and prefixes from TRAWL_* env)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from shared.config import Settings
from shared.db import Connection, create_pool
from shared.outbox import OutboxRelay, kafka_producer


class RelayKilledBeforeMarking(OutboxRelay):
    async def _mark_published(self, conn: Connection, ids: list[int]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


async def main(schema: str) -> None:
    settings = Settings()
    service = schema.removeprefix(settings.schema_prefix)
    pool = await create_pool(settings, service)
    producer = kafka_producer(settings.kafka)
    await producer.start()
    relay = RelayKilledBeforeMarking(pool, producer, service=service, schema=schema, batch_size=10_000)
    await relay.drain_once()
    raise SystemExit("the relay was expected to be killed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
