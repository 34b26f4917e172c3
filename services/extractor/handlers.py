"""The extractor's event handlers."""

from __future__ import annotations

from services.extractor.commands.deletion import forget_run
from services.extractor.commands.intake import Source, take_in
from services.extractor.commands.llm_records import take_llm_record
from services.extractor.domain.search import page_document_id
from services.extractor.pipeline import Pipeline
from shared import runs
from shared.consumer import HandlerContext
from shared.events import DocumentUploaded, JobCreated, LlmTaskCompleted, PageFetched, RunDeleted
from shared.s3 import ObjectStore


async def on_job_created(ctx: HandlerContext, event: JobCreated) -> None:
    """Keep the run's configuration: its extractor schema and chunking options apply to its pages."""
    await runs.remember_run(ctx.conn, event)


async def on_page_fetched(ctx: HandlerContext, event: PageFetched) -> None:
    await _take_in(
        ctx,
        Source(
            tenant_id=event.tenant_id,
            job_id=event.job_id,
            run_id=event.run_id,
            document_id=page_document_id(event.run_id, event.url_hash),
            source_type="crawl",
            url=event.final_url or event.url,
            url_hash=event.url_hash,
            name=None,
            content_type=event.content_type,
            content_hash=event.content_hash,
            s3_key=event.s3_key,
            size=event.size,
            unchanged=event.unchanged,
        ),
    )


async def on_document_uploaded(ctx: HandlerContext, event: DocumentUploaded) -> None:
    await _take_in(
        ctx,
        Source(
            tenant_id=event.tenant_id,
            job_id=event.job_id,
            run_id=event.run_id,
            document_id=event.document_id,
            source_type=event.source_type,
            url=None,
            url_hash=None,
            name=event.filename,
            content_type=event.content_type,
            content_hash=event.content_hash,
            s3_key=event.s3_key,
            size=event.size,
        ),
    )


async def _take_in(ctx: HandlerContext, source: Source) -> None:
    await take_in(ctx.uow, ctx.resources.get(Pipeline), ctx.resources.get(ObjectStore), source)


async def on_run_deleted(ctx: HandlerContext, event: RunDeleted) -> None:
    """Forget the run and leave its deletion to the deletion worker (rows, points, objects)."""
    await forget_run(ctx.uow, tenant_id=event.tenant_id, run_id=event.run_id)


async def on_llm_task_completed(ctx: HandlerContext, event: LlmTaskCompleted) -> None:
    """A record the llm service completed (other tasks' answers are not the extractor's)."""
    await take_llm_record(ctx.uow, ctx.resources.get(ObjectStore), event)
