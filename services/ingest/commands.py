"""What changes ingest's state and what it owes other services, in the caller's transaction:
the HTTP API, the Kafka intake and the scheduler start, cancel and delete runs through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from services.ingest import metrics, store
from services.ingest.domain.keys import new_key
from services.ingest.domain.progress import final_status
from services.ingest.domain.quota import QuotaExceeded, check_quota
from services.ingest.domain.schedules import next_fire
from shared.db import Connection
from shared.events import JobConfig, JobCreated, RunCancelled, RunCompleted, RunDeleted, RunStatus
from shared.outbox import Outbox


def this_month(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).date().replace(day=1)


def first_fire(config: JobConfig) -> datetime | None:
    """When a scheduled job first fires (None for an unscheduled one)."""
    schedule = config.schedule
    return None if schedule is None else next_fire(schedule.cron, schedule.timezone, datetime.now(UTC))


async def quota_problem(conn: Connection, *, tenant_id: UUID) -> QuotaExceeded | None:
    """None when the tenant may start a run. A tenant id no tenant row has (a Kafka producer
    may name any) has no limits to check."""
    tenant = await store.get_tenant(conn, tenant_id=tenant_id)
    if tenant is None:
        return None
    used = await store.usage(conn, tenant_id=tenant_id, period=this_month())
    return check_quota(
        pages_used=used["pages_fetched"],
        quota_pages=tenant["quota_pages_monthly"],
        active_runs=await store.count_active_runs(conn, tenant_id=tenant_id),
        max_active_runs=tenant["max_active_runs"],
    )


@dataclass(frozen=True)
class StartedRun:
    run_id: UUID
    created: bool
    job_id: UUID | None  # of the run found, which may differ from the one asked for


async def start_run(
    conn: Connection,
    outbox: Outbox,
    *,
    tenant_id: UUID,
    job_id: UUID,
    config: JobConfig,
    idempotency_key: str | None,
    trigger: str,
    submission_id: UUID | None = None,
    scheduled_for: datetime | None = None,
) -> StartedRun:
    """A new run of the job and its JobCreated, or the run this key (or fire) already started."""
    run_id, created = await store.create_run(
        conn,
        run_id=uuid4(),
        tenant_id=tenant_id,
        job_id=job_id,
        submission_id=submission_id,
        idempotency_key=idempotency_key,
        trigger=trigger,
        scheduled_for=scheduled_for,
    )
    if not created:
        found_job = await store.run_job_id(conn, tenant_id=tenant_id, run_id=run_id)
        return StartedRun(run_id, False, found_job)
    await outbox.publish(
        JobCreated(
            tenant_id=tenant_id,
            job_id=job_id,
            run_id=run_id,
            submission_id=submission_id,
            config=config,
            created_at=datetime.now(UTC),
        )
    )
    metrics.RUNS.labels("started").inc()
    return StartedRun(run_id, True, job_id)


async def cancel_run(conn: Connection, outbox: Outbox, *, tenant_id: UUID, run_id: UUID) -> bool | None:
    """True when cancelled now, False when it had already ended, None when there is no such run."""
    locked = await store.lock_run_state(conn, run_id=run_id, tenant_id=tenant_id)
    if locked is None:
        return None
    job_id, state = locked
    if state.status in ("completed", "failed", "cancelled"):
        return False
    await store.set_run_status(conn, run_id=run_id, tenant_id=tenant_id, status="cancelled")
    metrics.RUNS.labels("cancelled").inc()
    await outbox.publish(
        RunCancelled(
            tenant_id=tenant_id,
            job_id=job_id,
            run_id=run_id,
            reason="cancelled through the API",
            cancelled_at=datetime.now(UTC),
        )
    )
    return True


async def delete_run(conn: Connection, outbox: Outbox, *, tenant_id: UUID, run_id: UUID) -> bool:
    job_id = await store.run_job_id(conn, tenant_id=tenant_id, run_id=run_id)
    if not await store.delete_run(conn, tenant_id=tenant_id, run_id=run_id):
        return False
    await announce_deleted(outbox, tenant_id=tenant_id, job_id=job_id, run_id=run_id)
    return True


async def announce_deleted(outbox: Outbox, *, tenant_id: UUID, job_id: UUID | None, run_id: UUID) -> None:
    """Every service removes what it holds of the run when it sees this."""
    await outbox.publish(
        RunDeleted(tenant_id=tenant_id, job_id=job_id, run_id=run_id, deleted_at=datetime.now(UTC))
    )


async def finish_if_done(conn: Connection, outbox: Outbox, *, tenant_id: UUID, run_id: UUID) -> str | None:
    """After a progress event: end the run when every part is in; returns the final status."""
    locked = await store.lock_run_state(conn, run_id=run_id, tenant_id=tenant_id)
    if locked is None:
        return None
    job_id, state = locked
    status = final_status(state)
    if status is None:
        return None
    await store.set_run_status(conn, run_id=run_id, tenant_id=tenant_id, status=status)
    if job_id is not None:  # RunCompleted names a job; upload runs have none
        await outbox.publish(
            RunCompleted(
                tenant_id=tenant_id,
                job_id=job_id,
                run_id=run_id,
                service="ingest",
                status=RunStatus(status),
                counters={"extractor_outcomes": state.extractor_outcomes},
                completed_at=datetime.now(UTC),
            )
        )
    return status


@dataclass(frozen=True)
class IssuedKey:
    row: store.Row
    plaintext: str  # shown to the caller once; only its hash is stored


async def issue_key(
    conn: Connection,
    *,
    tenant_id: UUID,
    user_id: UUID,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
) -> IssuedKey:
    key = new_key()
    row = await store.create_key(
        conn,
        key_id=uuid4(),
        tenant_id=tenant_id,
        user_id=user_id,
        name=name,
        prefix=key.prefix,
        digest=key.digest,
        scopes=scopes,
        expires_at=expires_at,
    )
    return IssuedKey(row, key.plaintext)


@dataclass(frozen=True)
class Bootstrapped:
    tenant_id: UUID
    user_id: UUID
    key: IssuedKey


async def create_tenant_with_admin(
    conn: Connection, *, name: str, email: str, quota_pages_monthly: int, max_active_runs: int
) -> Bootstrapped:
    """A new tenant, its first admin user and that user's key (how `trawl keys create` starts)."""
    tenant_id, user_id = uuid4(), uuid4()
    await store.create_tenant(
        conn,
        tenant_id=tenant_id,
        name=name,
        quota_pages_monthly=quota_pages_monthly,
        max_active_runs=max_active_runs,
    )
    await store.create_user(conn, user_id=user_id, tenant_id=tenant_id, email=email, role="admin")
    key = await issue_key(
        conn, tenant_id=tenant_id, user_id=user_id, name="bootstrap", scopes=[], expires_at=None
    )
    return Bootstrapped(tenant_id, user_id, key)
