"""The exporter's event handlers."""

from __future__ import annotations

from services.exporter import store
from shared import runs
from shared.consumer import HandlerContext
from shared.events import ItemExtracted, JobCreated


async def on_job_created(ctx: HandlerContext, event: JobCreated) -> None:
    await runs.remember_run(ctx.conn, event)


async def on_item_extracted(ctx: HandlerContext, event: ItemExtracted) -> None:
    await store.add_item(ctx.conn, event)
