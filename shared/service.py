"""The runtime every service shares: migrate, connect, consume, relay, serve health.

A service declares what it is (`ServiceSpec`: its name, its handlers, its migrations);
`ServiceRuntime` does the rest the same way for all five.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from starlette.routing import BaseRoute

from shared import migrations
from shared.config import Settings
from shared.consumer import EventConsumer, Handler, RetryPolicy, prune_inbox
from shared.db import connect_admin, create_pool
from shared.events import SERVICES, Event
from shared.http import Check, HealthServer
from shared.kafka import LagMonitor, build_broker, consumed_topics, consumer_group, ensure_topics, subscribe
from shared.logging import configure_logging
from shared.outbox import OutboxRelay, kafka_producer
from shared.resources import Resources
from shared.s3 import ObjectStore
from shared.topics import all_topics
from shared.uow import Database

log = logging.getLogger(__name__)


Worker = Callable[["ServiceRuntime"], Awaitable[None]]
Lifespan = Callable[["ServiceRuntime"], contextlib.AbstractAsyncContextManager[None]]


@contextlib.asynccontextmanager
async def _no_lifespan(_runtime: ServiceRuntime) -> AsyncIterator[None]:
    yield


@dataclass(frozen=True)
class ServiceSpec:
    """What a service is. `lifespan` opens its own resources (registered in
    `runtime.resources`) before anything consumes; `workers` are its long-running loops
    (restarted after a crash); `checks` add readiness checks to /readyz, `notes` what /readyz
    should tell an operator without making the service unready."""

    name: str
    handlers: Mapping[type[Event], Handler]
    migrations_dir: Path
    routes: Callable[[ServiceRuntime], Sequence[BaseRoute]] = field(default=lambda _runtime: ())
    lifespan: Lifespan = _no_lifespan
    workers: Sequence[Worker] = ()
    checks: Callable[[ServiceRuntime], Mapping[str, Check]] = field(default=lambda _runtime: {})
    notes: Callable[[ServiceRuntime], Mapping[str, str]] = field(default=lambda _runtime: {})

    def default_http_port(self, settings: Settings) -> int:
        """The base port plus the service's index; any free port for a service outside the five
        or when the base port is 0."""
        if settings.http_base_port == 0 or self.name not in SERVICES:
            return 0
        return settings.http_base_port + SERVICES.index(self.name)


class ServiceRuntime:
    def __init__(self, spec: ServiceSpec, settings: Settings, *, http_port: int | None = None) -> None:
        self.spec = spec
        self.settings = settings
        self.schema = settings.schema_for(spec.name)
        self._http_port = http_port if http_port is not None else spec.default_http_port(settings)
        self._stack = contextlib.AsyncExitStack()
        self.pool: asyncpg.Pool | None = None
        self.db: Database | None = None
        self.producer: AIOKafkaProducer | None = None
        self.broker: KafkaBroker | None = None
        self.objects: ObjectStore | None = None
        self.http: HealthServer | None = None
        self.relay: OutboxRelay | None = None
        self.resources = Resources()
        self.resources.add(Settings, settings)
        self._tasks: list[asyncio.Task[None]] = []

    async def migrate(self) -> list[str]:
        conn = await connect_admin(self.settings)
        try:
            return await migrations.migrate(conn, self.schema, migrations.discover(self.spec.migrations_dir))
        finally:
            await conn.close()

    async def start(self) -> None:
        """Start everything, or nothing: a failure part-way releases what was started."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        settings = self.settings
        applied = await self.migrate()
        if applied:
            log.info("applied migrations %s", ", ".join(applied))
        await ensure_topics(
            settings.kafka,
            all_topics(settings.topic_prefix),
            partitions=settings.topic_partitions,
            replication=settings.topic_replication,
        )
        self.pool = await create_pool(settings, self.spec.name)
        self._stack.push_async_callback(self.pool.close)

        self.objects = await self._stack.enter_async_context(ObjectStore.from_settings(settings))
        await self.objects.ensure_bucket()  # a HEAD when it exists; created on a fresh deployment
        self.db = Database(self.pool, service=self.spec.name, topic_prefix=settings.topic_prefix)
        self.resources.add(ObjectStore, self.objects)
        self.resources.add(asyncpg.Pool, self.pool)
        self.resources.add(Database, self.db)
        await self._stack.enter_async_context(self.spec.lifespan(self))

        self.producer = kafka_producer(settings.kafka, client_id=f"trawl-{self.spec.name}-relay")
        await self.producer.start()
        self._stack.push_async_callback(self.producer.stop)
        self.relay = OutboxRelay(
            self.pool,
            self.producer,
            service=self.spec.name,
            schema=self.schema,
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval,
            retention_seconds=settings.outbox_retention_seconds,
        )
        self._spawn(self.relay.run(), "outbox-relay")
        self._spawn(self._prune_inbox_forever(), "inbox-pruner")

        consumer = EventConsumer(
            db=self.db,
            handlers=self.spec.handlers,
            retry=RetryPolicy(
                settings.handler_max_attempts,
                settings.handler_backoff_initial,
                settings.handler_backoff_max,
                settings.handler_timeout_seconds,
            ),
            resources=self.resources,
        )
        self.broker = build_broker(settings, self.spec.name)
        subscribe(self.broker, consumer, settings, self.spec.name)
        await self.broker.start()
        self._stack.push_async_callback(self.broker.stop)

        lag = LagMonitor(
            settings.kafka, consumer_group(settings, self.spec.name), consumed_topics(consumer, settings)
        )
        await lag.start()
        self._stack.push_async_callback(lag.stop)
        self._spawn(lag.report_forever(self.spec.name), "lag-monitor")
        for worker in self.spec.workers:
            self._spawn(self._supervised(worker), worker.__name__)

        self.http = HealthServer(
            self.spec.name,
            settings.http_host,
            self._http_port,
            checks={
                "postgres": self._check_postgres,
                "kafka": self._check_kafka,
                "s3": self.objects.ping,
                **self.spec.checks(self),
            },
            routes=self.spec.routes(self),
            notes=lambda: self.spec.notes(self),
        )
        await self.http.start()
        self._stack.push_async_callback(self.http.stop)
        log.info("%s started (http on %s:%d)", self.spec.name, settings.http_host, self.http.port)

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.spec.name}-{name}")
        task.add_done_callback(_log_crash)
        self._tasks.append(task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self._stack.aclose()

    async def _supervised(self, worker: Worker) -> None:
        """Run a worker for the life of the service; a crash is logged and the worker restarted."""
        while True:
            try:
                await worker(self)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker %s crashed; restarting", worker.__name__)
                await asyncio.sleep(_WORKER_RESTART_DELAY)

    async def _check_postgres(self) -> None:
        assert self.pool is not None
        await self.pool.fetchval("SELECT 1")

    async def _check_kafka(self) -> None:
        assert self.producer is not None
        await self.producer.client.fetch_all_metadata()

    async def _prune_inbox_forever(self) -> None:
        assert self.pool is not None
        while True:
            await asyncio.sleep(600)
            with contextlib.suppress(*_TRANSIENT):
                await prune_inbox(self.pool, self.settings.inbox_retention_seconds)


_WORKER_RESTART_DELAY = 2.0
_TRANSIENT = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s crashed", task.get_name(), exc_info=task.exception())


@contextlib.asynccontextmanager
async def running(runtimes: Sequence[ServiceRuntime]) -> AsyncIterator[Sequence[ServiceRuntime]]:
    """Start the runtimes in order; stop, in reverse, those that started."""
    started: list[ServiceRuntime] = []
    try:
        for runtime in runtimes:
            await runtime.start()
            started.append(runtime)
        yield runtimes
    finally:
        for runtime in reversed(started):
            await runtime.stop()


async def run_until_signalled(runtimes: Sequence[ServiceRuntime]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running(runtimes):
        await stop.wait()


def main(spec: ServiceSpec) -> None:
    """`python -m services.<name>`."""
    settings = Settings()
    configure_logging(spec.name, settings.log_level, settings.log_json)
    try:
        asyncio.run(run_until_signalled([ServiceRuntime(spec, settings)]))
    except migrations.MigrationError as exc:
        log.error("cannot start: %s", exc)
        raise SystemExit(1) from exc
