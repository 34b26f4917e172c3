"""The extractor's event handlers."""

from __future__ import annotations

from shared import runs
from shared.consumer import HandlerContext
from shared.events import JobCreated


async def on_job_created(ctx: HandlerContext, event: JobCreated) -> None:
    """Keep the run's configuration: its extractor schema and chunking options apply to its pages."""
    await runs.remember_run(ctx.conn, event)
