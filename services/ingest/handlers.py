"""Ingest's event handlers: Kafka intake of submissions and the run-progress read model."""

from __future__ import annotations

from uuid import UUID, uuid4

from services.ingest import commands, metrics, store
from services.ingest.domain.submissions import Rejected, validate_job_config
from shared.config import Settings
from shared.consumer import HandlerContext
from shared.events import (
    SKIPPED_ID,
    ChunkIndexed,
    CrawlProgress,
    DocumentUploaded,
    ItemExtracted,
    JobRejected,
    JobSubmitted,
    LlmTaskCompleted,
    PageFetched,
    RunCompleted,
    TaskFailed,
    ValidationProgressed,
)


async def on_job_submitted(ctx: HandlerContext, event: JobSubmitted) -> None:
    settings = ctx.resources.get(Settings)
    verdict = validate_job_config(event.config, search_provider=settings.search_provider_name())
    if isinstance(verdict, Rejected):
        return await _reject(ctx, event, verdict.reasons)
    if exceeded := await commands.quota_problem(ctx.conn, tenant_id=event.tenant_id):
        return await _reject(ctx, event, [f"quota: {exceeded.reason}"])
    job_id = event.job_id or uuid4()
    stored = await store.upsert_job(
        ctx.conn,
        job_id=job_id,
        tenant_id=event.tenant_id,
        config=verdict.config,
        next_fire_at=commands.first_fire(verdict.config),
    )
    if not stored:
        return await _reject(ctx, event, [f"job_id: no job {job_id} for this tenant"])
    started = await commands.start_run(
        ctx.uow,
        commands.RunRequest(
            tenant_id=event.tenant_id,
            trigger="kafka",
            job_id=job_id,
            config=verdict.config,
            idempotency_key=event.idempotency_key or f"submission:{event.submission_id}",
            submission_id=event.submission_id,
        ),
    )
    if not started.created and event.job_id is None:
        # A repeated idempotency key (its run exists) or a run started elsewhere since the quota
        # check took the last slot: the job made for this copy is not needed.
        await store.delete_job(ctx.conn, tenant_id=event.tenant_id, job_id=job_id)
    if started.refused is not None:
        return await _reject(ctx, event, [f"quota: {started.refused.reason}"])
    metrics.INTAKE.labels("accepted").inc()


async def _reject(ctx: HandlerContext, event: JobSubmitted, reasons: list[str]) -> None:
    await store.record_rejection(
        ctx.conn, submission_id=event.submission_id, tenant_id=event.tenant_id, reasons=reasons
    )
    await ctx.outbox.publish(
        JobRejected(tenant_id=event.tenant_id, submission_id=event.submission_id, reasons=reasons)
    )
    metrics.INTAKE.labels("rejected").inc()


async def on_page_fetched(ctx: HandlerContext, event: PageFetched) -> None:
    await store.add_progress(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, pages_fetched=1)
    await store.add_usage(ctx.conn, tenant_id=event.tenant_id, period=commands.this_month(), pages=1)


async def on_crawl_progress(ctx: HandlerContext, event: CrawlProgress) -> None:
    """Failed pages are counted from these reports (not from TaskFailed too, which would count
    twice); so is how far the crawl got, when the PageFetched stream is behind."""
    await store.note_crawl_progress(
        ctx.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        pages_total=event.pages_total,
        pages_failed=event.pages_failed,
        pages_crawled=event.pages_crawled,
        refusals=event.refusals,
        keyword_expansion=None
        if event.keyword_expansion is None
        else event.keyword_expansion.model_dump(mode="json"),
    )


async def on_chunk_indexed(ctx: HandlerContext, event: ChunkIndexed) -> None:
    await store.add_progress(
        ctx.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        documents_indexed=0 if event.skipped else 1,
        chunks_indexed=event.chunk_count,
        extractor_outcomes=1,
        items_announced=event.items_found,
    )
    await _finish_if_done(ctx, event.tenant_id, event.run_id)


async def on_item_extracted(ctx: HandlerContext, event: ItemExtracted) -> None:
    if event.revises:  # an item counted already: only whether it is kept may have changed
        found, extracted = 0, int(event.kept) - int(bool(event.was_kept))
    else:
        found, extracted = 1, int(event.kept)
    await store.add_progress(
        ctx.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        items_found=found,
        items_extracted=extracted,
    )
    await _finish_if_done(ctx, event.tenant_id, event.run_id)


async def on_llm_task_completed(ctx: HandlerContext, event: LlmTaskCompleted) -> None:
    tokens = event.prompt_tokens + event.completion_tokens
    await store.add_progress(
        ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, llm_tasks_done=1, tokens=tokens
    )
    await store.add_usage(ctx.conn, tenant_id=event.tenant_id, period=commands.this_month(), tokens=tokens)


async def on_task_failed(ctx: HandlerContext, event: TaskFailed) -> None:
    if event.run_id is None or SKIPPED_ID in event.ids:  # not attempted: reported, not an error
        return
    # The extractor answers each page with one ChunkIndexed or one TaskFailed: both count as its outcome.
    from_extractor = event.service == "extractor" and event.task_kind in _EXTRACTOR_PAGE_TASKS
    await store.add_progress(
        ctx.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        errors=1,
        extractor_outcomes=1 if from_extractor else 0,
        extractor_failures=1 if from_extractor else 0,
    )
    if from_extractor:
        await _finish_if_done(ctx, event.tenant_id, event.run_id)


_EXTRACTOR_PAGE_TASKS = frozenset({"extract", PageFetched.type_name(), DocumentUploaded.type_name()})


async def on_run_completed(ctx: HandlerContext, event: RunCompleted) -> None:
    if event.service == ctx.service:  # our own announcement of the whole run
        return
    if event.service == "crawler":  # its final counters, in case the last progress report was throttled
        await store.note_crawl_progress(
            ctx.conn,
            run_id=event.run_id,
            tenant_id=event.tenant_id,
            pages_total=event.counters.get("pages_total", 0),
            pages_failed=event.counters.get("pages_failed", 0),
        )
    await store.mark_part_completed(
        ctx.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        part=event.service,
        status=event.status.value,
        pages_published=event.counters.get("pages_published"),
    )
    await _finish_if_done(ctx, event.tenant_id, event.run_id)


async def _finish_if_done(ctx: HandlerContext, tenant_id: UUID, run_id: UUID) -> None:
    status = await commands.finish_if_done(ctx.uow, tenant_id=tenant_id, run_id=run_id)
    if status is not None:
        metrics.RUNS.labels(status).inc()


async def on_validation_progressed(ctx: HandlerContext, event: ValidationProgressed) -> None:
    """The crawler's word on a validation job, kept for GET /v1/validations/{id} and the feed."""
    await store.note_validation_progress(
        ctx.conn,
        tenant_id=event.tenant_id,
        validation_id=event.validation_id,
        status=event.status,
        total=event.total,
        validated=event.validated,
        invalid=event.invalid,
        reasons=event.reasons,
        error_message=event.error_message,
        started_at=event.started_at,
        completed_at=event.completed_at,
    )
