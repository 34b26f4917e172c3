"""From a Kafka record to a handler call, exactly once in effect (DESIGN.md §4).

For each record: read the CloudEvents headers, validate the payload against its model, then
run the handler inside one transaction together with the inbox insert (a redelivered
`ce_id` finds its inbox row and is acknowledged without effect) and the outbox writes.
A handler that keeps failing is retried with exponential backoff; after the last attempt
the record goes to `<topic>.dlq` with the reason in headers and a `TaskFailed` is owed —
both written through the outbox in one transaction with the inbox row, so a crash at any
point neither loses the record nor dead-letters it twice. Records that cannot be decoded or
fail the schema go to the DLQ at once. Postgres being unreachable is not the event's fault:
that is retried without counting attempts, and the offset is not committed meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID, uuid5

import asyncpg
from pydantic import ValidationError

from shared import metrics, strictjson
from shared.db import Connection
from shared.envelope import REPLAY_HEADER, Envelope, EnvelopeError
from shared.events import Event, TaskFailed
from shared.logging import log_context
from shared.outbox import EventTooLarge, Outbox, OutboxMessage
from shared.resources import Resources
from shared.topics import dlq_topic
from shared.uow import Database, UnitOfWork

# The namespace of the inbox ids of records refused before their handler (by position).
_POSITIONS = UUID("daf3ea0f-1a42-41ba-9dbd-5c59e0cbe801")
log = logging.getLogger(__name__)


class Record(Protocol):
    """What we need of an aiokafka ConsumerRecord."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any


@dataclass
class HandlerContext:
    """What a handler gets besides its event: the unit of work it runs in (the transaction's
    connection and outbox), and the service's long-lived resources (object store, settings,
    whatever its lifespan adds)."""

    uow: UnitOfWork
    envelope: Envelope
    resources: Resources = field(default_factory=Resources)

    @property
    def conn(self) -> Connection:
        return self.uow.conn

    @property
    def outbox(self) -> Outbox:
        return self.uow.outbox

    @property
    def service(self) -> str:
        return self.uow.service


Handler = Callable[[HandlerContext, Any], Awaitable[None]]


class Outcome(StrEnum):
    OK = "ok"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"


class DeadLetterReason(StrEnum):
    UNDECODABLE = "undecodable"
    SCHEMA = "schema"
    UNKNOWN_TYPE = "unknown_type"
    HANDLER = "handler"


class _DatabaseUnavailable(Exception):
    """Handling failed while Postgres could not be reached."""


class _Rejected(Exception):
    def __init__(self, reason: DeadLetterReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    initial_backoff: float = 0.2
    max_backoff: float = 10.0
    handler_timeout: float = 600.0  # a hung handler counts as a failed attempt

    def backoff(self, attempt: int) -> float:
        return float(min(self.initial_backoff * 2 ** (attempt - 1), self.max_backoff))


class EventConsumer:
    def __init__(
        self,
        *,
        db: Database,
        handlers: Mapping[type[Event], Handler],
        retry: RetryPolicy,
        resources: Resources | None = None,
    ) -> None:
        self._db = db
        self._service = db.service
        self._resources = resources if resources is not None else Resources()
        self._retry = retry
        self._handlers = {
            event_type.type_name(): (event_type, handler) for event_type, handler in handlers.items()
        }

    @property
    def event_types(self) -> list[type[Event]]:
        return [event_type for event_type, _ in self._handlers.values()]

    async def process(self, record: Record) -> Outcome:
        """Returns once the record's outcome is durably recorded; safe to commit its offset after.

        Never gives up on a record: if even recording its failure fails (Postgres down, or a
        bug), it waits and tries again, holding the partition, rather than skip it."""
        backoff = 0.1
        while True:
            try:
                return await self._process_once(record)
            except _DatabaseUnavailable as exc:
                log.warning(
                    "postgres unavailable while handling %s: %s; retrying", record.topic, exc.__cause__
                )
            except Exception:
                log.exception("could not record the outcome of %s/%d@%d; retrying", *_position(record))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def process_batch(self, records: Sequence[Record]) -> list[Outcome]:
        """Records fetched together, handled in one transaction: one commit (and, for the
        caller, one offset commit) for all of them, where record by record each costs its own.
        Any failure rolls the whole batch back, and then each record goes through `process`
        in order, with its own retries and dead-lettering: the effects and the per-key order
        are exactly those of handling the records one by one."""
        if len(records) == 1:
            return [await self.process(records[0])]
        try:
            return await self._handle_batch(records)
        except Exception as exc:
            log.info("a batch of %d records rolled back (%s); handling them one by one", len(records), exc)
        return [await self.process(record) for record in records]

    async def _handle_batch(self, records: Sequence[Record]) -> list[Outcome]:
        decoded = [self._decode(record) for record in records]  # a bad record: one by one, then
        outcomes: list[Outcome] = []
        durations: list[float] = []
        async with asyncio.timeout(self._retry.handler_timeout), self._db.unit_of_work() as uow:
            for record, (envelope, handler, event) in zip(records, decoded, strict=True):
                started = time.perf_counter()
                replayed = _replay_of(record)
                with log_context(
                    consumer=self._service,
                    event_id=str(envelope.id),
                    event_type=envelope.type,
                    run_id=envelope.subject,
                ):
                    if await _claim(uow.conn, envelope.id, envelope.type, "handled", replayed):
                        await handler(
                            HandlerContext(uow.caused_by(envelope), envelope, self._resources), event
                        )
                        outcomes.append(Outcome.OK)
                    else:
                        outcomes.append(Outcome.DUPLICATE)
                durations.append(time.perf_counter() - started)
        for (envelope, _, _), outcome, duration in zip(decoded, outcomes, durations, strict=True):
            metrics.HANDLER_SECONDS.labels(self._service, envelope.type).observe(duration)
            metrics.EVENTS_CONSUMED.labels(self._service, envelope.type, outcome.value).inc()
            with log_context(consumer=self._service, event_id=str(envelope.id), event_type=envelope.type):
                log.info("handled %s: %s", envelope.type, outcome.value)
        return outcomes

    async def _process_once(self, record: Record) -> Outcome:
        try:
            envelope, handler, event = self._decode(record)
        except _Rejected as rejected:
            await self._dead_letter(record, None, rejected.reason, rejected.detail, attempts=0)
            return Outcome.DEAD_LETTERED
        replayed = _replay_of(record)

        with log_context(
            consumer=self._service,
            event_id=str(envelope.id),
            event_type=envelope.type,
            run_id=envelope.subject,
        ):
            attempt = 0
            while True:
                attempt += 1
                started = time.perf_counter()
                try:
                    outcome = await self._handle(envelope, handler, event, replayed)
                except Exception as exc:
                    if await self._database_unreachable():
                        raise _DatabaseUnavailable from exc  # not the event's fault: no attempt spent
                    if attempt < self._retry.max_attempts:
                        delay = self._retry.backoff(attempt)
                        log.warning("handler failed (attempt %d), retrying in %.2fs: %s", attempt, delay, exc)
                        metrics.EVENTS_CONSUMED.labels(self._service, envelope.type, "retried").inc()
                        await asyncio.sleep(delay)
                        continue
                    log.error("handler failed %d times, dead-lettering", attempt, exc_info=exc)
                    detail = "".join(traceback.format_exception_only(exc)).strip()
                    await self._dead_letter(
                        record, envelope, DeadLetterReason.HANDLER, detail, attempt, event, replayed
                    )
                    return Outcome.DEAD_LETTERED
                finally:
                    metrics.HANDLER_SECONDS.labels(self._service, envelope.type).observe(
                        time.perf_counter() - started
                    )
                metrics.EVENTS_CONSUMED.labels(self._service, envelope.type, outcome.value).inc()
                log.info("handled %s: %s", envelope.type, outcome.value)
                return outcome

    async def _database_unreachable(self) -> bool:
        """Whether a failure may be Postgres's rather than the handler's: a handler's own
        network errors (a fetch, an API call) look the same by type, so ask the database."""
        try:
            async with asyncio.timeout(5):
                await self._db.pool.fetchval("SELECT 1")
        except Exception:
            return True
        return False

    def _decode(self, record: Record) -> tuple[Envelope, Handler, Event]:
        try:
            envelope = Envelope.from_headers(record.headers or ())
        except EnvelopeError as exc:
            raise _Rejected(DeadLetterReason.UNDECODABLE, str(exc)) from exc
        known = self._handlers.get(envelope.type)
        if known is None:
            raise _Rejected(DeadLetterReason.UNKNOWN_TYPE, f"no handler for ce_type {envelope.type!r}")
        event_type, handler = known
        try:
            payload = strictjson.loads(record.value or b"")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _Rejected(DeadLetterReason.UNDECODABLE, f"payload is not JSON: {exc}") from exc
        try:
            event = event_type.model_validate(payload)
        except ValidationError as exc:
            raise _Rejected(DeadLetterReason.SCHEMA, _validation_summary(exc)) from exc
        if envelope.tenant_id is not None and envelope.tenant_id != event.tenant_id:
            raise _Rejected(DeadLetterReason.SCHEMA, "tenant_id header and payload disagree")
        return envelope, handler, event

    async def _handle(
        self, envelope: Envelope, handler: Handler, event: Event, replayed: str | None
    ) -> Outcome:
        async with (
            asyncio.timeout(self._retry.handler_timeout),
            self._db.unit_of_work(cause=envelope) as uow,
        ):
            if not await _claim(uow.conn, envelope.id, envelope.type, "handled", replayed):
                return Outcome.DUPLICATE
            await handler(HandlerContext(uow, envelope, self._resources), event)
        return Outcome.OK

    async def _dead_letter(
        self,
        record: Record,
        envelope: Envelope | None,
        reason: DeadLetterReason,
        detail: str,
        attempts: int,
        event: Event | None = None,
        replayed: str | None = None,
    ) -> None:
        headers = [(name, value) for name, value in (record.headers or ()) if not name.startswith("dlq_")]
        headers += [
            (name, value.encode())
            for name, value in (
                ("dlq_reason", reason.value),
                ("dlq_error", detail[:4000]),
                ("dlq_service", self._service),
                ("dlq_source_topic", record.topic),
                ("dlq_source_partition", str(record.partition)),
                ("dlq_source_offset", str(record.offset)),
                ("dlq_attempts", str(attempts)),
                ("dlq_failed_at", datetime.now(UTC).isoformat()),
            )
        ]
        event_id, event_type = (envelope.id, envelope.type) if envelope else (None, None)
        target = dlq_topic(record.topic)
        try:
            copy = OutboxMessage(target, record.key, headers, record.value or b"", event_id, event_type)
        except EventTooLarge:
            # The original stays readable at its source topic/partition/offset, named in the headers.
            size = f"{len(record.value or b''):,} bytes, too large to copy"
            omitted = [*headers, ("dlq_payload_omitted", size.encode())]
            copy = OutboxMessage(target, record.key, omitted, b"", event_id, event_type)
        # A record refused before its handler is claimed by its position (its headers may not
        # even name it, or name another event): redelivered, it is not dead-lettered again.
        claim_id, claim_type = (
            (envelope.id, envelope.type) if envelope else (_position_id(record), "rejected")
        )
        async with self._db.unit_of_work(cause=envelope) as uow:
            if not await _claim(uow.conn, claim_id, claim_type, "dead_lettered", replayed):
                return
            await uow.outbox.add(copy)
            if event is not None and envelope is not None:
                await uow.outbox.publish(
                    TaskFailed.now(
                        service=uow.service,
                        tenant_id=event.tenant_id,
                        task_kind=envelope.type,
                        job_id=getattr(event, "job_id", None),
                        run_id=getattr(event, "run_id", None),
                        ids={"event_id": str(envelope.id), "topic": record.topic},
                        error=detail,
                        attempts=attempts,
                    )
                )
        metrics.DLQ_TOTAL.labels(self._service, record.topic, reason.value).inc()
        metrics.EVENTS_CONSUMED.labels(
            self._service, envelope.type if envelope else "unknown", Outcome.DEAD_LETTERED.value
        ).inc()
        log.error("dead-lettered record %s/%d@%d: %s: %s", *_position(record), reason, detail)


async def _claim(
    conn: Connection, event_id: UUID, event_type: str, outcome: str, replay_of: str | None
) -> bool:
    """Record the event id in the inbox; False when it was already there (a redelivery).
    A dead-lettered event replayed from its DLQ (`trawl dlq replay`; `replay_of` names the dead
    letter) may run again — once per replay: the same replay redelivered, after it was
    dead-lettered again and before its offset was committed, is a redelivery like any other."""
    claimed = await conn.fetchval(
        """INSERT INTO inbox (event_id, event_type, outcome, replay_of) VALUES ($1, $2, $3, $4)
           ON CONFLICT (event_id) DO UPDATE
              SET outcome = EXCLUDED.outcome, received_at = now(), replay_of = EXCLUDED.replay_of
            WHERE $4::text IS NOT NULL AND inbox.outcome = 'dead_lettered'
              AND inbox.replay_of IS DISTINCT FROM $4::text
           RETURNING true""",
        event_id,
        event_type,
        outcome,
        replay_of,
    )
    return bool(claimed)


def _replay_of(record: Record) -> str | None:
    """The dead letter a replayed record came from (its REPLAY_HEADER), or None."""
    return next(
        (value.decode("utf-8", "replace") for name, value in record.headers or () if name == REPLAY_HEADER),
        None,
    )


async def prune_inbox(pool: asyncpg.Pool, retention_seconds: float) -> int:
    """Forget event ids older than the longest redelivery we guard against."""
    async with pool.acquire() as conn:
        status: str = await conn.execute(
            "DELETE FROM inbox WHERE received_at < now() - make_interval(secs => $1)", retention_seconds
        )
    return int(status.split()[-1])


def _position(record: Record) -> tuple[str, int, int]:
    return record.topic, record.partition, record.offset


def _position_id(record: Record) -> UUID:
    return uuid5(_POSITIONS, "{}/{}@{}".format(*_position(record)))


def _validation_summary(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
        for error in exc.errors()
    )[:4000]
