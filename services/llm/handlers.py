"""The LLM service's event handlers."""

from __future__ import annotations

from services.llm import store
from shared import runs
from shared.consumer import HandlerContext
from shared.events import JobCreated


async def on_job_created(ctx: HandlerContext, event: JobCreated) -> None:
    """Keep the run and the LLM queries it asks for; tasks run as its items and chunks arrive."""
    if await runs.remember_run(ctx.conn, event):
        await store.add_queries(
            ctx.conn, run_id=event.run_id, tenant_id=event.tenant_id, queries=event.config.llm_queries
        )
