"""The crawler's event handlers: runs start, stop and go away here; fetching is the worker's."""

from __future__ import annotations

from services.crawler import store
from services.crawler.domain.pagination import template_url
from services.crawler.domain.urls import url_hash, url_host
from shared import runs
from shared.consumer import HandlerContext
from shared.events import JobCreated, JobKind, PaginationType, RunCancelled, RunDeleted
from shared.s3 import ObjectStore


async def on_job_created(ctx: HandlerContext, event: JobCreated) -> None:
    """Register the run and seed its durable frontier; the workers take it from there."""
    if not await runs.remember_run(ctx.conn, event):
        return
    config = event.config
    await store.create_crawl_run(
        ctx.conn,
        run_id=event.run_id,
        tenant_id=event.tenant_id,
        job_id=event.job_id,
        max_pages=config.limits.max_pages,
        max_depth=config.limits.max_depth,
    )
    if config.kind is JobKind.KEYWORDS:
        return  # nothing to fetch: the run completes as soon as a worker sees an empty frontier
    seeds = [_new_url(str(seed), depth=0) for seed in config.seeds]
    pagination = config.pagination
    if pagination.type is PaginationType.URL_PATTERN and pagination.url_template:
        # First, so that it wins over a seed naming the same URL: it carries its page number.
        first = template_url(pagination.url_template, pagination.start_page)
        seeds.insert(0, _new_url(first, depth=0, page_number=pagination.start_page))
    await store.enqueue(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, urls=seeds)


def _new_url(url: str, *, depth: int, page_number: int | None = None) -> store.NewUrl:
    return store.NewUrl(
        url=url,
        url_hash=url_hash(url),
        host=url_host(url),
        depth=depth,
        page_number=page_number,
    )


async def on_run_cancelled(ctx: HandlerContext, event: RunCancelled) -> None:
    """Workers stop taking the run's URLs within a second (they poll run status)."""
    await runs.on_run_cancelled(ctx, event)
    await store.set_crawl_status(ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, status="cancelled")


async def on_run_deleted(ctx: HandlerContext, event: RunDeleted) -> None:
    """Rows go with the run; its stored objects too, unless another run's pages use them.
    Objects are deleted before the transaction commits: if that fails, the whole deletion is
    retried (deleting an object twice is harmless), so no row is left pointing at nothing."""
    keys = await store.objects_only_this_run_references(
        ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id
    )
    await runs.on_run_deleted(ctx, event)
    if keys:
        await ctx.resources.get(ObjectStore).delete_many(keys)
