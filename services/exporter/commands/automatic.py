"""The exports a job declares (`exports` in its configuration), made of each run that completes.

A run's completion comes from ingest (RunCompleted, with how many pages and items the run
had), its configuration from JobCreated: on different topics, so in either order. The exports
are declared when both are in, as `waiting`, and queued once every row the completion
announced has arrived (items, documents and images come on other topics again)."""

from __future__ import annotations

import logging
from uuid import NAMESPACE_URL, UUID, uuid5

from services.exporter import store
from shared import runs
from shared.events import ExportRequested, JobCreated, RunCompleted, RunStatus
from shared.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

_WHOLE_RUN = "ingest"  # ingest's RunCompleted is the whole run's


async def on_run_completed(uow: UnitOfWork, event: RunCompleted) -> None:
    counters = event.counters
    if event.service == "crawler":
        await store.expect_rows(
            uow.conn, tenant_id=event.tenant_id, run_id=event.run_id, images=counters.get("images_stored")
        )
        return
    if event.service != _WHOLE_RUN or event.status is not RunStatus.COMPLETED:
        return
    await store.expect_rows(
        uow.conn,
        tenant_id=event.tenant_id,
        run_id=event.run_id,
        completed_at=event.completed_at,
        chunk_indexed=counters.get("chunk_indexed"),
        items=counters.get("items_found"),
    )
    await _declare_exports(uow, tenant_id=event.tenant_id, run_id=event.run_id)


async def on_job_created(uow: UnitOfWork, event: JobCreated) -> None:
    await runs.remember_run(uow.conn, event)
    await _declare_exports(uow, tenant_id=event.tenant_id, run_id=event.run_id)


async def _declare_exports(uow: UnitOfWork, *, tenant_id: UUID, run_id: UUID) -> None:
    conn = uow.conn
    config = await runs.run_config(conn, run_id=run_id, tenant_id=tenant_id)
    if config is None or not config.exports:
        return
    completed_at = await store.run_completed_at(conn, tenant_id=tenant_id, run_id=run_id)
    if completed_at is None:
        return
    job_id = await runs.run_job(conn, run_id=run_id, tenant_id=tenant_id)
    for index, declared in enumerate(config.exports):
        request = ExportRequested(
            tenant_id=tenant_id,
            # The same run's same declared export is one export, however often it is declared.
            export_id=uuid5(NAMESPACE_URL, f"trawl:run-export:{run_id}:{index}"),
            run_id=run_id,
            job_id=job_id,
            dataset=declared.dataset,
            format=declared.format,
            options=declared.options,
            link_ttl_seconds=declared.link_ttl_seconds,
            requested_at=completed_at,
        )
        if await store.add_export(conn, request, automatic=True):
            log.info(
                "run %s: automatic export %s (%s, %s) waits for its rows",
                run_id,
                request.export_id,
                declared.dataset.value,
                declared.format.value,
            )


async def release_waiting(db: Database, *, max_wait_seconds: float) -> None:
    async with db.unit_of_work() as uow:
        released = await store.release_waiting_exports(uow.conn, max_wait_seconds=max_wait_seconds)
    for record in released:
        if record["late"]:
            log.warning("automatic export %s stopped waiting for its run's rows", record["export_id"])
