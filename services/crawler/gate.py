"""The politeness gate of one crawler process: what the downloader asks before every request.

robots.txt per origin is cached in memory with its expiry and in the shared `hosts` table, so
replicas and restarts reuse a fresh copy instead of fetching it again. Concurrency per host
is gated here; request spacing across replicas is kept in Postgres: each request reserves the
host's next time slot (`store.reserve_host_slot`), and a host answering 429/503 with
Retry-After is pushed back for every replica. With autothrottle the spacing follows each
host's latency (Scrapy's AutoThrottle).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from services.crawler import store
from services.crawler.domain.fetching import FetchLimits
from services.crawler.domain.politeness import AutoThrottle
from services.crawler.domain.robots import RobotsRules
from services.crawler.fetcher import Fetcher, FetchError
from shared.events import Limits
from shared.uow import Database

ROBOTS_LIMITS = FetchLimits(max_body_bytes=512 * 1024, connect_timeout=10, read_timeout=10, total_timeout=20)
AUTOTHROTTLE_MAX_DELAY = 60.0


class PolitenessGate:
    def __init__(self, db: Database, fetcher: Fetcher, robots_ttl: float) -> None:
        self._db = db
        self._robots = RobotsCache(db, fetcher, robots_ttl)
        self._gates = HostGates()
        self._throttles: dict[str, float] = {}  # host -> autothrottle delay

    async def robots(self, origin: str, user_agent: str) -> RobotsRules:
        return await self._robots.rules(origin, user_agent)

    def enter(self, host: str, limit: int) -> contextlib.AbstractAsyncContextManager[None]:
        """At most `limit` fetches to `host` in flight in this process."""
        return self._gates.enter(host, limit)

    def load(self, host: str) -> int:
        """Fetch tasks of this process in (or waiting at) the host's gate."""
        return self._gates.load(host)

    async def take_turn(self, host: str, *, min_delay: float, crawl_delay: float | None) -> None:
        """Wait for the host's next time slot, the longest of the job's delay, robots.txt's
        Crawl-delay and the autothrottle delay apart from the previous one."""
        delay = max(min_delay, crawl_delay or 0.0, self._throttles.get(host, 0.0))
        if delay <= 0:
            return
        # An absolute slot time, not a relative wait: the spacing then does not depend on how
        # long the reservation's round trip took.
        async with self._db.unit_of_work() as uow:
            slot = await store.reserve_host_slot(uow.conn, host, delay)
        if (wait := slot - time.time()) > 0:
            await asyncio.sleep(wait)

    async def push_back(self, host: str, seconds: float) -> None:
        """The host asked us to wait: no replica fetches from it for `seconds`."""
        async with self._db.unit_of_work() as uow:
            await store.push_back_host(uow.conn, host, seconds)

    def throttle(self, host: str, limits: Limits, latency: float, status: int) -> None:
        """Move the host's delay towards latency / per-host concurrency (autothrottle jobs)."""
        throttle = AutoThrottle(
            target_concurrency=float(limits.per_host_concurrency),
            min_delay=limits.min_delay_seconds,
            max_delay=AUTOTHROTTLE_MAX_DELAY,
        )
        current = self._throttles.get(host, limits.min_delay_seconds)
        self._throttles[host] = throttle.next_delay(current, latency, status)


class RobotsCache:
    def __init__(self, db: Database, fetcher: Fetcher, ttl: float) -> None:
        self._db = db
        self._fetcher = fetcher
        self._ttl = ttl
        self._rules: dict[str, RobotsRules] = {}
        self._pending: dict[str, asyncio.Future[RobotsRules]] = {}

    async def rules(self, origin: str, user_agent: str) -> RobotsRules:
        """The rules for `origin` (scheme://host:port); one fetch at a time per origin."""
        cached = self._rules.get(origin)
        if cached is not None and not cached.expired(time.time(), self._ttl):
            return cached
        pending = self._pending.get(origin)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[RobotsRules] = asyncio.get_running_loop().create_future()
        self._pending[origin] = future
        try:
            rules = await self._load(origin, user_agent)
            future.set_result(rules)
            self._rules[origin] = rules
            return rules
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            del self._pending[origin]

    async def _load(self, origin: str, user_agent: str) -> RobotsRules:
        async with self._db.connection() as conn:
            stored = await store.cached_robots(conn, origin, self._ttl)
        if stored is not None:
            return RobotsRules.from_response(stored[0], stored[1], time.time())
        status: int | None
        try:
            fetched = await self._fetcher.fetch(
                f"{origin}/robots.txt", headers={"user-agent": user_agent}, limits=ROBOTS_LIMITS
            )
            status, body = fetched.status, fetched.body
        except FetchError as exc:
            # Unreachable robots.txt means "disallow all, for now" (RFC 9309 2.3.1.4), except a
            # refused address: the page itself will be refused with the clearer reason.
            status, body = (404, b"") if exc.kind == "ssrf" else (None, b"")
        rules = RobotsRules.from_response(status, body, time.time())
        if status is not None:
            async with self._db.unit_of_work() as uow:
                await store.store_robots(uow.conn, origin, status, body)
        return rules


@dataclass
class _Gate:
    semaphore: asyncio.Semaphore
    waiting: int = 0


@dataclass
class HostGates:
    """At most `limit` fetches in flight per host in this process."""

    _gates: dict[str, _Gate] = field(default_factory=dict)

    def load(self, host: str) -> int:
        gate = self._gates.get(host)
        return 0 if gate is None else gate.waiting

    @contextlib.asynccontextmanager
    async def enter(self, host: str, limit: int) -> AsyncIterator[None]:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _Gate(asyncio.Semaphore(limit))
        gate.waiting += 1
        try:
            async with gate.semaphore:
                yield
        finally:
            gate.waiting -= 1
            if gate.waiting == 0:
                del self._gates[host]
