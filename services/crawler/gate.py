"""Politeness state of one crawler process: robots.txt per host and per-host fetch gates.

robots.txt is cached in memory with its expiry and in the shared `hosts` table, so replicas
and restarts reuse a fresh copy instead of fetching it again. Request spacing across replicas
is kept in Postgres (`store.reserve_host_slot`); concurrency per host is gated here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg

from services.crawler import store
from services.crawler.domain.robots import RobotsRules
from services.crawler.fetcher import Fetcher, FetchError, FetchLimits

ROBOTS_LIMITS = FetchLimits(max_body_bytes=512 * 1024, connect_timeout=10, read_timeout=10, total_timeout=20)


class RobotsCache:
    def __init__(self, pool: asyncpg.Pool, fetcher: Fetcher, ttl: float) -> None:
        self._pool = pool
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
        stored = await store.cached_robots(self._pool, origin, self._ttl)
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
            await store.store_robots(self._pool, origin, status, body)
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
