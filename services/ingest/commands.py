"""Ingest's application layer: what changes its state and what it owes other services, each
inside the caller's unit of work. The HTTP API, the Kafka intake, the scheduler and uploads
start, cancel and delete runs through here, and only here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from uuid import UUID, uuid4

from services.ingest import metrics, store
from services.ingest.domain.keys import new_key
from services.ingest.domain.progress import completion_counters, final_status
from services.ingest.domain.quota import QuotaExceeded, check_quota
from services.ingest.domain.schedules import next_fire
from shared.db import Connection
from shared.events import (
    DocumentUploaded,
    ExportDataset,
    ExportFormat,
    ExportOptions,
    ExportRequested,
    JobConfig,
    JobCreated,
    RunCancelled,
    RunCompleted,
    RunDeleted,
    RunStatus,
    ValidationRequested,
    ValidationRules,
)
from shared.uow import UnitOfWork


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
class StoredUpload:
    """A file already stored in S3, to be indexed as part of an upload run."""

    document_id: UUID
    filename: str
    content_type: str
    size: int
    s3_key: str
    content_hash: str


@dataclass(frozen=True)
class RunRequest:
    """A run to start: of a job (with its configuration) or of uploaded files."""

    tenant_id: UUID
    trigger: str  # api | kafka | schedule | upload
    job_id: UUID | None = None
    config: JobConfig | None = None
    uploads: Sequence[StoredUpload] = ()
    idempotency_key: str | None = None
    submission_id: UUID | None = None
    scheduled_for: datetime | None = None


@dataclass(frozen=True)
class StartedRun:
    run_id: UUID | None  # None when refused
    created: bool
    job_id: UUID | None  # of the run found, which may differ from the one asked for
    refused: QuotaExceeded | None = None


async def start_run(uow: UnitOfWork, request: RunRequest) -> StartedRun:
    """The one way a run starts, whoever asks (API, Kafka intake, scheduler, upload): a new run
    and what it owes the other services (JobCreated, or one DocumentUploaded per file), or the
    run this idempotency key (or schedule fire) already started, or a refusal over quota."""
    conn, tenant_id = uow.conn, request.tenant_id
    existing = await store.existing_run(
        conn,
        tenant_id=tenant_id,
        idempotency_key=request.idempotency_key,
        job_id=request.job_id,
        scheduled_for=request.scheduled_for,
    )
    if existing is not None:  # a repeated key gets its run back, quota or not
        return StartedRun(existing, False, await store.run_job_id(conn, tenant_id=tenant_id, run_id=existing))
    if (exceeded := await quota_problem(conn, tenant_id=tenant_id)) is not None:
        return StartedRun(None, False, request.job_id, exceeded)
    run_id, created = await store.create_run(
        conn,
        run_id=uuid4(),
        tenant_id=tenant_id,
        job_id=request.job_id,
        submission_id=request.submission_id,
        idempotency_key=request.idempotency_key,
        kind="upload" if request.uploads else "crawl",
        trigger=request.trigger,
        scheduled_for=request.scheduled_for,
        documents_expected=len(request.uploads) if request.uploads else None,
    )
    if not created:  # started concurrently with the same key or fire
        return StartedRun(run_id, False, await store.run_job_id(conn, tenant_id=tenant_id, run_id=run_id))
    if request.uploads:
        await _announce_uploads(uow, request, run_id)
    else:
        assert request.job_id is not None and request.config is not None, "a job run needs its job"
        await uow.outbox.publish(
            JobCreated(
                tenant_id=tenant_id,
                job_id=request.job_id,
                run_id=run_id,
                submission_id=request.submission_id,
                config=request.config,
                created_at=datetime.now(UTC),
            )
        )
    metrics.RUNS.labels("started").inc()
    return StartedRun(run_id, True, request.job_id)


async def _announce_uploads(uow: UnitOfWork, request: RunRequest, run_id: UUID) -> None:
    for upload in request.uploads:
        await store.insert_upload(
            uow.conn,
            document_id=upload.document_id,
            tenant_id=request.tenant_id,
            run_id=run_id,
            filename=upload.filename,
            content_type=upload.content_type,
            s3_key=upload.s3_key,
            size=upload.size,
        )
        await uow.outbox.publish(
            DocumentUploaded(
                tenant_id=request.tenant_id,
                run_id=run_id,
                document_id=upload.document_id,
                filename=upload.filename,
                content_type=upload.content_type,
                content_hash=upload.content_hash,
                s3_key=upload.s3_key,
                size=upload.size,
                source_type="upload",
                uploaded_at=datetime.now(UTC),
            )
        )


async def cancel_run(uow: UnitOfWork, *, tenant_id: UUID, run_id: UUID) -> bool | None:
    """True when cancelled now, False when it had already ended, None when there is no such run."""
    locked = await store.lock_run_state(uow.conn, run_id=run_id, tenant_id=tenant_id)
    if locked is None:
        return None
    job_id, state = locked
    if state.status in ("completed", "failed", "cancelled"):
        return False
    await store.set_run_status(uow.conn, run_id=run_id, tenant_id=tenant_id, status="cancelled")
    metrics.RUNS.labels("cancelled").inc()
    await uow.outbox.publish(
        RunCancelled(
            tenant_id=tenant_id,
            job_id=job_id,
            run_id=run_id,
            reason="cancelled through the API",
            cancelled_at=datetime.now(UTC),
        )
    )
    return True


async def delete_run(uow: UnitOfWork, *, tenant_id: UUID, run_id: UUID) -> bool:
    job_id = await store.run_job_id(uow.conn, tenant_id=tenant_id, run_id=run_id)
    if not await store.delete_run(uow.conn, tenant_id=tenant_id, run_id=run_id):
        return False
    await _announce_deleted(uow, tenant_id=tenant_id, job_id=job_id, run_id=run_id)
    return True


async def delete_job(uow: UnitOfWork, *, tenant_id: UUID, job_id: UUID) -> bool:
    """The job and all its runs, each announced as deleted; False when there is no such job."""
    runs = await store.delete_job(uow.conn, tenant_id=tenant_id, job_id=job_id)
    if runs is None:
        return False
    for run_id in runs:
        await _announce_deleted(uow, tenant_id=tenant_id, job_id=job_id, run_id=run_id)
    return True


async def delete_project(uow: UnitOfWork, *, tenant_id: UUID, project_id: UUID) -> bool:
    """The project and every job in it, each with its runs announced as deleted; False when
    there is no such project."""
    for job_id in await store.project_jobs(uow.conn, tenant_id=tenant_id, project_id=project_id):
        await delete_job(uow, tenant_id=tenant_id, job_id=job_id)
    return await store.delete_project(uow.conn, tenant_id=tenant_id, project_id=project_id)


async def request_validation(
    uow: UnitOfWork, *, tenant_id: UUID, run_id: UUID, name: str, rules: ValidationRules
) -> store.Row:
    """A validation job of the run's images, recorded here (its read model) and asked of the
    crawler, which owns the images."""
    validation_id = uuid4()
    row = await store.create_validation(
        uow.conn,
        validation_id=validation_id,
        tenant_id=tenant_id,
        run_id=run_id,
        name=name or f"validation of run {run_id}",
        rules=rules.model_dump(mode="json"),
    )
    await uow.outbox.publish(
        ValidationRequested(
            tenant_id=tenant_id,
            validation_id=validation_id,
            run_id=run_id,
            rules=rules,
            requested_at=datetime.now(UTC),
        )
    )
    return row


async def request_export(
    uow: UnitOfWork,
    *,
    tenant_id: UUID,
    run_id: UUID,
    job_id: UUID | None,
    dataset: ExportDataset,
    format: ExportFormat,
    options: ExportOptions,
    link_ttl_seconds: int,
    scope: Literal["run", "job"] = "run",
) -> ExportRequested:
    """Asked of the exporter, which owns exports: it answers with ExportCompleted."""
    request = ExportRequested(
        scope=scope,
        tenant_id=tenant_id,
        export_id=uuid4(),
        run_id=run_id,
        job_id=job_id,
        dataset=dataset,
        format=format,
        options=options,
        link_ttl_seconds=link_ttl_seconds,
        requested_at=datetime.now(UTC),
    )
    await uow.outbox.publish(request)
    return request


async def _announce_deleted(uow: UnitOfWork, *, tenant_id: UUID, job_id: UUID | None, run_id: UUID) -> None:
    """Every service removes what it holds of the run when it sees this."""
    await uow.outbox.publish(
        RunDeleted(tenant_id=tenant_id, job_id=job_id, run_id=run_id, deleted_at=datetime.now(UTC))
    )


async def finish_if_done(uow: UnitOfWork, *, tenant_id: UUID, run_id: UUID) -> str | None:
    """After a progress event: end the run when every part is in; returns the final status."""
    locked = await store.lock_run_state(uow.conn, run_id=run_id, tenant_id=tenant_id)
    if locked is None:
        return None
    job_id, state = locked
    status = final_status(state)
    if status is None:
        return None
    await store.set_run_status(uow.conn, run_id=run_id, tenant_id=tenant_id, status=status)
    if job_id is not None:  # RunCompleted names a job; upload runs have none
        await uow.outbox.publish(
            RunCompleted.now(
                service=uow.service,
                tenant_id=tenant_id,
                job_id=job_id,
                run_id=run_id,
                status=RunStatus(status),
                counters=completion_counters(state),
            )
        )
    return status


@dataclass(frozen=True)
class IssuedKey:
    row: store.Row
    plaintext: str  # shown to the caller once; only its hash is stored


async def issue_key(
    uow: UnitOfWork,
    *,
    tenant_id: UUID,
    user_id: UUID,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
) -> IssuedKey:
    key = new_key()
    row = await store.create_key(
        uow.conn,
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
    uow: UnitOfWork, *, name: str, email: str, quota_pages_monthly: int, max_active_runs: int
) -> Bootstrapped:
    """A new tenant, its first admin user and that user's key (how `trawl keys create` starts)."""
    tenant_id, user_id = uuid4(), uuid4()
    await store.create_tenant(
        uow.conn,
        tenant_id=tenant_id,
        name=name,
        quota_pages_monthly=quota_pages_monthly,
        max_active_runs=max_active_runs,
    )
    await store.create_user(uow.conn, user_id=user_id, tenant_id=tenant_id, email=email, role="admin")
    key = await issue_key(
        uow, tenant_id=tenant_id, user_id=user_id, name="bootstrap", scopes=[], expires_at=None
    )
    return Bootstrapped(tenant_id, user_id, key)
