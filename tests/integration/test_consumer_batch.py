"""Records fetched together are handled in one transaction; a failure among them changes
nothing of what record-by-record handling would have done (real Kafka records, real Postgres)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from shared.config import Settings
from shared.consumer import EventConsumer, HandlerContext, Outcome, RetryPolicy
from shared.db import create_pool
from shared.events import RunCancelled
from shared.producer import publish_direct
from shared.topics import topic_for
from shared.uow import Database
from tests.support import consume_all, prepare

pytestmark = pytest.mark.integration

FIXTURE_MIGRATIONS = Path(__file__).parent / "fixtures" / "migrations"


class _Flaky:
    """Fails the first time it sees the event whose reason is 'flaky'."""

    def __init__(self) -> None:
        self.failed = False

    async def __call__(self, ctx: HandlerContext, event: RunCancelled) -> None:
        if event.reason == "flaky" and not self.failed:
            self.failed = True
            raise RuntimeError("not this time")
        await ctx.conn.execute(
            "INSERT INTO effects (run_id, note) VALUES ($1, $2)", event.run_id, event.reason
        )


@pytest.mark.parametrize("with_a_failure", [False, True])
async def test_a_batch_is_one_transaction_and_a_failure_in_it_changes_nothing_else(
    settings: Settings, with_a_failure: bool
) -> None:
    await prepare(settings, "batchtest", FIXTURE_MIGRATIONS)
    run = uuid4()  # one key: one partition, whose order must hold
    notes = [f"event-{n}" for n in range(20)]
    if with_a_failure:
        notes[7] = "flaky"
    events = [
        RunCancelled(tenant_id=uuid4(), run_id=run, reason=note, cancelled_at=datetime.now(UTC))
        for note in notes
    ]
    envelopes = await publish_direct(settings, [*events, events[3]])  # and a redelivery of one
    records = await consume_all(settings, [topic_for(RunCancelled, settings.topic_prefix)], expected=21)
    # The redelivered copy carries the same event id (ce_id) as the original.
    duplicate = records[-1]
    duplicate.headers = [
        (name, str(envelopes[3].id).encode()) if name == "ce_id" else (name, value)
        for name, value in duplicate.headers
    ]
    pool = await create_pool(settings, "batchtest")
    try:
        consumer = EventConsumer(
            db=Database(pool, service="batchtest", topic_prefix=settings.topic_prefix),
            handlers={RunCancelled: _Flaky()},
            retry=RetryPolicy(max_attempts=3, initial_backoff=0.01),
        )
        outcomes = await consumer.process_batch(records)
        rows = await pool.fetch("SELECT note, xmin::text::bigint AS transaction FROM effects ORDER BY id")
    finally:
        await pool.close()

    assert outcomes == [Outcome.OK] * 20 + [Outcome.DUPLICATE]
    assert [row["note"] for row in rows] == notes  # each once, in the partition's order
    transactions = {row["transaction"] for row in rows}
    assert len(transactions) == (len(notes) if with_a_failure else 1)
