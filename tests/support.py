"""Helpers shared by integration tests: real Kafka reads, schemas, a running relay."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer

from shared import migrations
from shared.config import Settings
from shared.db import connect_admin
from shared.events import SERVICES, Event
from shared.kafka import LagMonitor, consumer_group, delete_topics, ensure_topics
from shared.outbox import OutboxRelay, kafka_producer
from shared.topics import all_topics, topic_for


async def consume_all(
    settings: Settings, topics: list[str], *, expected: int, within: float = 60.0, quiet: float = 1.5
) -> list[Any]:
    """Every record on `topics` from the beginning: waits for `expected` records, then for a
    quiet period so that extra (duplicate) deliveries are seen too."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=settings.kafka, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=int(quiet * 1000))
            fetched = [record for partition in batch.values() for record in partition]
            records += fetched
            if not fetched and len(records) >= expected:
                break
    finally:
        await consumer.stop()
    return records


def header(record: Any, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return str(value.decode())
    return None


async def prepare(settings: Settings, service: str, migrations_dir: Path | None = None) -> str:
    """Topics for the test's prefix and one migrated schema; returns the schema name."""
    await ensure_topics(
        settings.kafka, all_topics(settings.topic_prefix), partitions=settings.topic_partitions
    )
    conn = await connect_admin(settings)
    try:
        schema = settings.schema_for(service)
        await migrations.migrate(conn, schema, migrations.discover(migrations_dir))
        return schema
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def running_relay(pool: asyncpg.Pool, settings: Settings, service: str) -> AsyncIterator[OutboxRelay]:
    producer = kafka_producer(settings.kafka)
    await producer.start()
    relay = OutboxRelay(
        pool, producer, service=service, schema=settings.schema_for(service), poll_interval=0.2
    )
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await producer.stop()


class WaitTimedOut(AssertionError):
    """A condition a test waited for never held; the message says what was last seen."""


async def wait_until(probe: Any, *, within: float = 30.0, interval: float = 0.1, what: str = "") -> Any:
    """Poll a probe (a function, sync or async) until it returns something truthy, and return
    that value; fail the test with the last value seen when `within` seconds pass first."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            subject = what or getattr(probe, "__qualname__", repr(probe))
            raise WaitTimedOut(f"{subject}: not true within {within:g}s; last seen {value!r}")
        await asyncio.sleep(interval)


async def consumed_everything(
    settings: Settings, service: str, event_types: list[type[Event]], *, within: float = 60.0
) -> None:
    """Wait until `service` has committed every record on the topics of `event_types`.

    A service commits a record's offset only after the transaction of its handler (or of its
    dead-lettering) commits, so once nothing is left uncommitted, whatever those records were
    going to do has been done: the marker a negative check ("X did not happen") waits for."""
    topics = [topic_for(event_type, settings.topic_prefix) for event_type in event_types]
    monitor = LagMonitor(settings.kafka, consumer_group(settings, service), topics)
    await monitor.start()
    try:

        async def lag() -> dict[str, int]:
            return {f"{tp.topic}/{tp.partition}": behind for tp, behind in (await monitor.measure()).items()}

        async def nothing_left() -> bool:
            behind = await lag()
            return bool(behind) and not any(behind.values())

        try:
            await wait_until(nothing_left, within=within, what=f"{service} consuming {topics}")
        except WaitTimedOut as exc:
            raise WaitTimedOut(f"{exc}; records not yet consumed per partition: {await lag()}") from None
    finally:
        await monitor.stop()


class TcpProxy:
    """A TCP forwarder the test can cut (refuse and drop every connection) and restore:
    a network outage between one service and a real server, without stopping the server.
    `bytes_per_second` makes each connection a slow link; `sent` counts the bytes that went to
    the server."""

    def __init__(self, target_host: str, target_port: int, *, bytes_per_second: float | None = None) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.bytes_per_second = bytes_per_second
        self.sent = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def restore(self) -> None:
        await self.start()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.close()
            return
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(
            self._pipe(client_reader, server_writer, upstream=True),
            self._pipe(server_reader, client_writer, upstream=False),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
                if upstream:
                    self.sent += len(data)
                if self.bytes_per_second:
                    await asyncio.sleep(len(data) / self.bytes_per_second)
        finally:
            self._writers.discard(writer)
            writer.close()


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that gives a child process these settings' servers and prefixes."""
    return {
        **os.environ,
        "TRAWL_KAFKA_BOOTSTRAP": settings.kafka,
        "TRAWL_PG_DSN": settings.postgres_dsn,
        "TRAWL_S3_ENDPOINT": settings.s3_url,
        "TRAWL_TOPIC_PREFIX": settings.topic_prefix,
        "TRAWL_SCHEMA_PREFIX": settings.schema_prefix,
        **extra,
    }


async def drop_isolated(settings: Settings) -> None:
    """Remove the schemas, roles and topics of `settings`' prefixes (a test's or a benchmark's)."""
    conn = await connect_admin(settings)
    try:
        schemas = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", f"{settings.schema_prefix}%"
        )
        for row in schemas:
            await migrations.drop_schema(conn, row["nspname"])
        for service in SERVICES:
            await conn.execute(f"DROP ROLE IF EXISTS {settings.schema_for(service)}")
    finally:
        await conn.close()
    await delete_topics(settings.kafka, all_topics(settings.topic_prefix))
