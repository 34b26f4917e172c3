"""The crawler's event handlers: each event becomes a command, in the consumer's unit of work;
fetching is the worker's."""

from __future__ import annotations

from services.crawler import commands, expansions
from shared.config import Settings
from shared.consumer import HandlerContext
from shared.events import (
    JobCreated,
    LlmTaskCompleted,
    RunCancelled,
    RunDeleted,
    TaskFailed,
    ValidationRequested,
)
from shared.s3 import ObjectStore


async def on_job_created(ctx: HandlerContext, event: JobCreated) -> None:
    wait = ctx.resources.get(Settings).keyword_expansion_wait_seconds
    await commands.start_crawl(ctx.uow, event, expansion_wait_seconds=wait)


async def on_llm_task_completed(ctx: HandlerContext, event: LlmTaskCompleted) -> None:
    """A keyword run's expansions (other tasks are not the crawler's)."""
    await expansions.take_expansion(ctx.uow, ctx.resources.get(ObjectStore), event)


async def on_task_failed(ctx: HandlerContext, event: TaskFailed) -> None:
    """A keyword run's expansions that will not come (other failures are not the crawler's)."""
    await expansions.expansion_failed(ctx.uow, event)


async def on_run_cancelled(ctx: HandlerContext, event: RunCancelled) -> None:
    await commands.cancel_crawl(ctx.uow, tenant_id=event.tenant_id, run_id=event.run_id)


async def on_run_deleted(ctx: HandlerContext, event: RunDeleted) -> None:
    await commands.delete_crawl(
        ctx.uow, ctx.resources.get(ObjectStore), tenant_id=event.tenant_id, run_id=event.run_id
    )


async def on_validation_requested(ctx: HandlerContext, event: ValidationRequested) -> None:
    await commands.request_validation(ctx.uow, event)
