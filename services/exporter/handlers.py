"""The exporter's event handlers: its read model (items, documents, images and verdicts, LLM
outputs), the exports asked of it, and those its jobs declare for each completed run."""

from __future__ import annotations

from services.exporter import store
from services.exporter.commands import automatic
from services.exporter.commands.requests import accept_request
from shared import runs
from shared.consumer import HandlerContext
from shared.events import (
    ChunkIndexed,
    ExportRequested,
    ImageStored,
    ImagesValidated,
    ItemExtracted,
    JobCreated,
    LlmTaskCompleted,
    RunCompleted,
    RunDeleted,
)


async def on_job_created(ctx: HandlerContext, event: JobCreated) -> None:
    await automatic.on_job_created(ctx.uow, event)


async def on_run_completed(ctx: HandlerContext, event: RunCompleted) -> None:
    await automatic.on_run_completed(ctx.uow, event)


async def on_item_extracted(ctx: HandlerContext, event: ItemExtracted) -> None:
    await store.add_item(ctx.conn, event)


async def on_chunk_indexed(ctx: HandlerContext, event: ChunkIndexed) -> None:
    await store.add_document(ctx.conn, event)


async def on_image_stored(ctx: HandlerContext, event: ImageStored) -> None:
    await store.add_image(ctx.conn, event)


async def on_images_validated(ctx: HandlerContext, event: ImagesValidated) -> None:
    await store.add_verdicts(ctx.conn, event)


async def on_llm_task_completed(ctx: HandlerContext, event: LlmTaskCompleted) -> None:
    await store.add_llm_output(ctx.conn, event)


async def on_export_requested(ctx: HandlerContext, event: ExportRequested) -> None:
    await accept_request(ctx.uow, event)


async def on_run_deleted(ctx: HandlerContext, event: RunDeleted) -> None:
    """The run's rows go with it, and none come after; its exports' files are the sweeper's."""
    await store.hold_run_for_deletion(ctx.conn, run_id=event.run_id)
    await runs.on_run_deleted(ctx, event)
    await store.delete_run_rows(ctx.conn, tenant_id=event.tenant_id, run_id=event.run_id)
    await store.mark_run_deleted(ctx.conn, tenant_id=event.tenant_id, run_id=event.run_id)
