"""One unit of work for every write (DESIGN.md §1, after cosmicpython's `UnitOfWork`).

A service reaches its schema through its `Database`: `async with db.unit_of_work() as uow:`
opens a transaction on one pooled connection with the service's outbox bound to it, commits
when the block ends and rolls back (events included) when it raises. Kafka handlers get one
from `EventConsumer`, with the consumed event as the cause of what they publish; API routes,
workers and schedulers open their own. Reads that change nothing take `db.connection()`.
This module is the only place that builds an `Outbox`, and the service's name comes from its
`ServiceSpec`, once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from shared.db import Connection
from shared.envelope import Envelope
from shared.outbox import Outbox


@dataclass(frozen=True)
class UnitOfWork:
    """An open transaction: its connection, its outbox, and whose it is."""

    conn: Connection
    outbox: Outbox
    service: str
    topic_prefix: str

    def caused_by(self, cause: Envelope) -> UnitOfWork:
        """The same transaction, publishing events caused by `cause` (a consumer handling a
        batch of events in one transaction gives each handler its own)."""
        outbox = Outbox(self.conn, source=self.service, topic_prefix=self.topic_prefix, cause=cause)
        return UnitOfWork(self.conn, outbox, self.service, self.topic_prefix)


class Database:
    """A service's schema: units of work for writes, plain connections for reads."""

    def __init__(self, pool: asyncpg.Pool, *, service: str, topic_prefix: str) -> None:
        self.pool = pool
        self.service = service
        self._topic_prefix = topic_prefix

    @contextlib.asynccontextmanager
    async def unit_of_work(self, *, cause: Envelope | None = None) -> AsyncIterator[UnitOfWork]:
        async with self.pool.acquire() as conn, conn.transaction():
            outbox = Outbox(conn, source=self.service, topic_prefix=self._topic_prefix, cause=cause)
            yield UnitOfWork(conn, outbox, self.service, self._topic_prefix)

    def connection(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        """A pooled connection for reads (no transaction, no outbox)."""
        return self.pool.acquire()
