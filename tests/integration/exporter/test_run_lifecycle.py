"""A run's rows whatever order its events come in: items read before the run's JobCreated (another
topic), an upload run with no JobCreated at all, a deleted run that keeps nothing, even what
arrives after; and the exports a job declares, made when its run completes, once every row
the completion announced has arrived."""

from __future__ import annotations

import csv
import io
import json
from uuid import uuid4

import httpx
import pytest

from services.exporter import store
from shared.events import ExportDataset, ExportFormat, ExportOptions, ItemKind, RunExport, RunStatus
from shared.internal_api import EXPORTS_PATH, ExportsPage
from shared.uow import Database
from tests.integration.exporter.conftest import (
    Exporter,
    Run,
    document,
    export_request,
    item,
    new_run,
    run_completed,
    run_deleted,
)
from tests.support import wait_until

pytestmark = pytest.mark.integration


async def _exports_of(exporter: Exporter, run: Run) -> ExportsPage:
    reply = await exporter.http.get(
        EXPORTS_PATH, params={"tenant_id": str(run.tenant_id), "run_id": str(run.run_id)}
    )
    return ExportsPage.model_validate_json(reply.raise_for_status().content)


async def test_items_read_before_their_runs_job_created_are_kept(exporter: Exporter) -> None:
    run = new_run()
    await exporter.publish(item(run, {"title": "early"}), item(run, {"title": "earlier"}))
    await exporter.settle()
    schema = {"type": "object", "properties": {"title": {"type": "string"}, "price": {"type": "number"}}}
    await exporter.announce(run, schema)
    await exporter.settle()
    export = await exporter.export(run, ExportFormat.CSV)
    rows = list(csv.DictReader(io.StringIO((await exporter.download(run, export)).decode())))
    assert [row["title"] for row in rows] == ["early", "earlier"]
    # The header from the schema JobCreated brought later: "price" is in no item.
    assert list(rows[0])[:2] == ["title", "price"]


async def test_an_upload_run_without_a_job_is_exported(exporter: Exporter) -> None:
    run = new_run()
    page = await document(exporter, run, "upload://notes.md", "Notes", "# Notes\n\nÉté 🌞")
    page = page.model_copy(update={"job_id": None})
    await exporter.publish(page)
    await exporter.settle()
    export = await exporter.export(run, ExportFormat.JSONL, ExportDataset.DOCUMENTS)
    (row,) = [json.loads(line) for line in (await exporter.download(run, export)).decode().splitlines()]
    assert (row["title"], row["markdown"]) == ("Notes", "# Notes\n\nÉté 🌞")


async def test_a_deleted_run_keeps_nothing_not_even_what_arrives_after(exporter: Exporter) -> None:
    run = await exporter.start_run()
    await exporter.publish(item(run, {"title": "kept a while"}))
    await exporter.settle()
    await exporter.publish(run_deleted(run))
    await exporter.publish(
        item(run, {"title": "late"}), await document(exporter, run, "https://a/", "A", "a")
    )
    await exporter.settle()
    db = exporter.runtime.resources.get(Database)
    async with db.connection() as conn:
        for table in ("export_items", "export_documents"):
            assert await store.last_position(conn, table, tenant_id=run.tenant_id, run_ids=[run.run_id]) == 0
    export = await exporter.export(run, ExportFormat.JSONL)
    assert export.status == "failed" and "deleted" in (export.error_message or "")


async def test_a_jobs_exports_wait_for_every_row_its_completion_announced(exporter: Exporter) -> None:
    """The completion is read first, even before JobCreated; the exports wait for the rows."""
    run = new_run()
    declared = [
        RunExport(format=ExportFormat.CSV, options=ExportOptions(fields=["title"])),
        RunExport(dataset=ExportDataset.DOCUMENTS, format=ExportFormat.JSONL, link_ttl_seconds=600),
    ]
    await exporter.publish(
        item(run, {"title": "one"}),
        run_completed(run, "crawler", images_stored=0, pages_published=2),
        run_completed(run, "ingest", chunk_indexed=2, items_found=3),
    )
    await exporter.settle()
    await exporter.announce(run, exports=declared)
    await exporter.settle()
    waiting = (await _exports_of(exporter, run)).exports
    assert sorted((e.dataset, e.status, e.automatic) for e in waiting) == [
        ("documents", "waiting", True),
        ("items", "waiting", True),
    ]

    # Delivered again (a replay): the same exports, not new ones.
    await exporter.publish(run_completed(run, "ingest", chunk_indexed=2, items_found=3))
    await exporter.publish(
        item(run, {"title": "two"}),
        await document(exporter, run, "https://shop.example/1", "First", "one"),
        await document(exporter, run, "https://shop.example/2", "Second", "two"),
        item(run, {"title": "three"}),
    )

    async def all_made() -> list[str] | None:
        exports = (await _exports_of(exporter, run)).exports
        done = all(export.status == "completed" for export in exports)
        return [export.id.hex for export in exports] if done and len(exports) == 2 else None

    await wait_until(all_made, within=60, interval=0.3, what="the job's two exports")
    made = {export.dataset: export for export in (await _exports_of(exporter, run)).exports}
    items = list(csv.DictReader(io.StringIO((await exporter.download(run, made["items"])).decode())))
    assert [row["title"] for row in items] == ["one", "two", "three"] and made["items"].note is None
    assert made["documents"].rows == 2 and made["documents"].link_ttl_seconds == 600


async def test_a_failed_run_gets_no_automatic_export(exporter: Exporter) -> None:
    run = await exporter.start_run(exports=[RunExport(format=ExportFormat.JSONL)])
    failed = run_completed(run, "ingest", chunk_indexed=0, items_found=0)
    await exporter.publish(failed.model_copy(update={"status": RunStatus.FAILED}))
    await exporter.settle()
    assert (await _exports_of(exporter, run)).exports == []


async def test_the_api_lists_an_automatic_exports_state(exporter: Exporter) -> None:
    run = await exporter.start_run(exports=[RunExport(format=ExportFormat.JSON)])
    await exporter.publish(run_completed(run, "ingest", chunk_indexed=0, items_found=0))
    await exporter.settle()

    async def made() -> bool:
        exports = (await _exports_of(exporter, run)).exports
        return len(exports) == 1 and exports[0].status == "completed"

    await wait_until(made, within=30, interval=0.3, what="an export of an empty run")
    (export,) = (await _exports_of(exporter, run)).exports
    async with httpx.AsyncClient() as plain:
        link = await exporter.link(run.tenant_id, export.id)
        assert link.url is not None and (await plain.get(link.url)).json() == []


async def test_an_export_of_a_job_holds_every_runs_rows_products_the_latest_of_each(
    exporter: Exporter,
) -> None:
    first = await exporter.start_run()
    second = Run(first.tenant_id, uuid4(), first.job_id)
    await exporter.announce(second)
    lamp, desk = {"product_hash": "lamp"}, {"product_hash": "desk"}
    await exporter.publish(
        item(first, {"name": "Lamp", "price": "10.00"}, kind=ItemKind.PRODUCT, **lamp),
        item(first, {"name": "Desk", "price": "90.00"}, kind=ItemKind.PRODUCT, **desk),
    )
    await exporter.settle()
    await exporter.publish(item(second, {"name": "Lamp", "price": "12.50"}, kind=ItemKind.PRODUCT, **lamp))
    await exporter.settle()
    request = export_request(second, ExportFormat.JSONL, ExportDataset.PRODUCTS).model_copy(
        update={"scope": "job"}
    )
    await exporter.publish(request)
    export = await exporter.finished(second, request.export_id)
    assert export.scope == "job" and export.filename == f"products-job-{first.job_id}.jsonl"
    rows = [json.loads(line) for line in (await exporter.download(second, export)).decode().splitlines()]
    assert sorted((row["name"], row["price"]) for row in rows) == [("Desk", "90.00"), ("Lamp", "12.50")]
    everything = await exporter.export(second, ExportFormat.JSONL)  # the run alone
    assert everything.rows == 1
