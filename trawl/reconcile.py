"""`trawl reconcile [--run ID] [--repair]`.

The embedded vector store belongs to the extractor's process: while the extractor runs, the
comparison is the extractor's (over its internal HTTP); when it is stopped, this process opens
the stores itself.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import httpx
import typer

from shared.config import Settings
from trawl.console import console

if TYPE_CHECKING:
    from services.extractor.commands.reconcile import Report


def reconcile(
    run: Annotated[UUID | None, typer.Option("--run", help="only this run")] = None,
    repair: Annotated[bool, typer.Option(help="fix what differs")] = False,
) -> None:
    """Compare Postgres, Qdrant and S3 for a run (or everything); --repair fixes the differences."""
    settings = Settings()
    report = asyncio.run(_by_extractor(settings, run, repair)) or asyncio.run(
        _reconcile(settings, run, repair)
    )
    console.print(
        f"chunks {report.chunks}, points {report.points}: "
        f"{len(report.missing_points)} missing point(s), {len(report.orphan_points)} orphan point(s), "
        f"{len(report.orphan_objects)} orphan object(s)"
    )
    for chunk in report.missing_points[:20]:
        console.print(f"  missing point  {chunk}")
    for point in report.orphan_points[:20]:
        console.print(f"  orphan point   {point}")
    for key in report.orphan_objects[:20]:
        console.print(f"  orphan object  {key}")
    if report.consistent:
        console.print("[green]consistent[/green]")
    elif report.repaired:
        console.print("[green]repaired[/green]")
    else:
        console.print("[yellow]run with --repair to fix[/yellow]")
        raise typer.Exit(1)


async def _by_extractor(settings: Settings, run_id: UUID | None, repair: bool) -> Report | None:
    """The running extractor's report; None when no extractor answers."""
    from pydantic import TypeAdapter

    from services.extractor.commands.reconcile import Report
    from shared.internal_api import RECONCILE_PATH
    from trawl.reindex import extractor_client

    async with extractor_client(settings, timeout=None) as client:
        try:
            answer = await client.post(
                RECONCILE_PATH, json={"run_id": str(run_id) if run_id else None, "repair": repair}
            )
        except httpx.TransportError:
            return None
    answer.raise_for_status()
    return TypeAdapter(Report).validate_python(answer.json())


async def _reconcile(settings: Settings, run_id: UUID | None, repair: bool) -> Report:
    from services.extractor.app import SPEC
    from services.extractor.commands.reconcile import reconcile as compare
    from services.extractor.pipeline import open_pipeline
    from shared.db import create_pool
    from shared.s3 import ObjectStore
    from shared.service import ServiceRuntime
    from shared.uow import Database

    await ServiceRuntime(SPEC, settings).migrate()
    pool = await create_pool(settings, SPEC.name)
    db = Database(pool, service=SPEC.name, topic_prefix=settings.topic_prefix)
    try:
        async with ObjectStore.from_settings(settings) as objects, open_pipeline(settings, db) as pipeline:
            return await compare(db, pipeline, objects, run_id=run_id, repair=repair)
    finally:
        await pool.close()
