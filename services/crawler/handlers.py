"""The crawler's event handlers: each event becomes a command, in the consumer's unit of work;
fetching is the worker's."""

from __future__ import annotations

from services.crawler import commands
from shared.consumer import HandlerContext
from shared.events import JobCreated, RunCancelled, RunDeleted, ValidationRequested
from shared.s3 import ObjectStore


async def on_job_created(ctx: HandlerContext, event: JobCreated) -> None:
    await commands.start_crawl(ctx.uow, event)


async def on_run_cancelled(ctx: HandlerContext, event: RunCancelled) -> None:
    await commands.cancel_crawl(ctx.uow, tenant_id=event.tenant_id, run_id=event.run_id)


async def on_run_deleted(ctx: HandlerContext, event: RunDeleted) -> None:
    await commands.delete_crawl(
        ctx.uow, ctx.resources.get(ObjectStore), tenant_id=event.tenant_id, run_id=event.run_id
    )


async def on_validation_requested(ctx: HandlerContext, event: ValidationRequested) -> None:
    await commands.request_validation(ctx.uow, event)
