"""Ingest's event handlers: Kafka intake of submissions and the run-progress read model."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from services.ingest import store
from services.ingest.domain.submissions import Accepted, validate_job_config
from shared.consumer import HandlerContext
from shared.events import (
    ChunkIndexed,
    ItemExtracted,
    JobCreated,
    JobRejected,
    JobSubmitted,
    LlmTaskCompleted,
    PageFetched,
    RunCompleted,
    TaskFailed,
)


async def on_job_submitted(ctx: HandlerContext, event: JobSubmitted) -> None:
    verdict = validate_job_config(event.config)
    reasons = [] if isinstance(verdict, Accepted) else verdict.reasons
    if event.job_id is not None:
        owner = await store.job_tenant(ctx.conn, event.job_id)
        if owner is not None and owner != event.tenant_id:
            reasons.append(f"job_id: no job {event.job_id} for this tenant")
    if not isinstance(verdict, Accepted) or reasons:
        await store.record_rejection(
            ctx.conn, submission_id=event.submission_id, tenant_id=event.tenant_id, reasons=reasons
        )
        await ctx.outbox.publish(
            JobRejected(tenant_id=event.tenant_id, submission_id=event.submission_id, reasons=reasons)
        )
        return

    job_id = event.job_id or uuid4()
    await store.upsert_job(ctx.conn, job_id=job_id, tenant_id=event.tenant_id, config=verdict.config)
    run_id, created = await store.create_run(
        ctx.conn,
        run_id=uuid4(),
        tenant_id=event.tenant_id,
        job_id=job_id,
        submission_id=event.submission_id,
        idempotency_key=event.idempotency_key or str(event.submission_id),
    )
    if created:
        await ctx.outbox.publish(
            JobCreated(
                tenant_id=event.tenant_id,
                job_id=job_id,
                run_id=run_id,
                submission_id=event.submission_id,
                config=verdict.config,
                created_at=datetime.now(UTC),
            )
        )


async def on_page_fetched(ctx: HandlerContext, event: PageFetched) -> None:
    await store.add_progress(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, pages_fetched=1)


async def on_chunk_indexed(ctx: HandlerContext, event: ChunkIndexed) -> None:
    await store.add_progress(
        ctx.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        documents_indexed=1,
        chunks_indexed=event.chunk_count,
    )


async def on_item_extracted(ctx: HandlerContext, event: ItemExtracted) -> None:
    await store.add_progress(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, items_extracted=1)


async def on_llm_task_completed(ctx: HandlerContext, event: LlmTaskCompleted) -> None:
    await store.add_progress(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, llm_tasks_done=1)


async def on_task_failed(ctx: HandlerContext, event: TaskFailed) -> None:
    if event.run_id is not None:
        await store.add_progress(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, errors=1)


async def on_run_completed(ctx: HandlerContext, event: RunCompleted) -> None:
    await store.mark_part_completed(
        ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, part=event.service
    )
