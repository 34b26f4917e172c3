"""The llm service's event handlers, thin: each runs one command in the event's unit of work."""

from __future__ import annotations

from services.llm import store
from services.llm.commands import deleting, planning
from shared import runs
from shared.config import Settings
from shared.consumer import HandlerContext
from shared.events import ItemExtracted, JobCreated, LlmTaskRequested, RunCancelled, RunDeleted
from shared.s3 import ObjectStore


async def on_job_created(ctx: HandlerContext, event: JobCreated) -> None:
    """Keep the run and the LLM queries it asks for; tasks come as its products arrive."""
    if await runs.remember_run(ctx.conn, event):
        await store.add_queries(
            ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, queries=event.config.llm_queries
        )
        await planning.plan_waiting_items(
            ctx.uow, ctx.resources.get(Settings), tenant_id=event.tenant_id, run_id=event.run_id
        )


async def on_item_extracted(ctx: HandlerContext, event: ItemExtracted) -> None:
    await planning.plan_product_tasks(ctx.uow, ctx.resources.get(Settings), event)


async def on_llm_task_requested(ctx: HandlerContext, event: LlmTaskRequested) -> None:
    await planning.take_request(ctx.uow, ctx.resources.get(Settings), event)


async def on_run_cancelled(ctx: HandlerContext, event: RunCancelled) -> None:
    """A cancelled run spends nothing more: its tasks not yet answered stop (a bulk retry of
    its session runs them after all)."""
    await store.cancel_run_tasks(ctx.conn, tenant_id=event.tenant_id, run_id=event.run_id)
    await runs.on_run_cancelled(ctx, event)


async def on_run_deleted(ctx: HandlerContext, event: RunDeleted) -> None:
    await deleting.delete_run(
        ctx.uow, ctx.resources.get(ObjectStore), tenant_id=event.tenant_id, run_id=event.run_id
    )
