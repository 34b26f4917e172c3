"""The crawler's event handlers."""

from __future__ import annotations

from services.crawler import store
from services.crawler.domain.urls import url_hash
from shared import runs
from shared.consumer import HandlerContext
from shared.events import JobCreated, RunCancelled


async def on_job_created(ctx: HandlerContext, event: JobCreated) -> None:
    """Register the run and seed its durable frontier."""
    if not await runs.remember_run(ctx.conn, event):
        return
    limits = event.config.limits
    await store.create_crawl_run(
        ctx.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        job_id=event.job_id,
        max_pages=limits.max_pages,
        max_depth=limits.max_depth,
    )
    seeds = [(str(seed), url_hash(str(seed))) for seed in event.config.seeds]
    await store.enqueue(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, urls=seeds, depth=0)


async def on_run_cancelled(ctx: HandlerContext, event: RunCancelled) -> None:
    await runs.on_run_cancelled(ctx, event)
    await store.set_crawl_status(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, status="cancelled")
