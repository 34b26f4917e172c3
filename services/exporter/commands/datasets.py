"""A run's rows of one dataset, read in keyset pages up to a position fixed when the export
starts (so every pass over them sees the same rows), as records or as rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from services.exporter import store
from services.exporter.domain.rows import Row, document_row, image_row, item_row, llm_output_row
from shared.events import ExportDataset, ExportFormat, ExportOptions
from shared.s3 import ObjectNotFoundError, ObjectStore
from shared.uow import Database

PAGE_ROWS: Final = 1000
# A document row carries the page's Markdown (an LLM output row its output, when the event did
# not): read from S3, so fewer rows per page.
DOCUMENT_PAGE_ROWS: Final = 100
OBJECT_FETCHES: Final = 16

_TABLES: Final = {
    ExportDataset.ITEMS: "export_items",
    ExportDataset.PRODUCTS: "export_items",
    ExportDataset.DOCUMENTS: "export_documents",
    ExportDataset.IMAGES: "export_images",
    ExportDataset.LLM_OUTPUTS: "export_llm_outputs",
}
# Datasets whose rows are read as stored, no filter.
_PLAIN: Final = frozenset({ExportDataset.DOCUMENTS, ExportDataset.LLM_OUTPUTS})


@dataclass(frozen=True)
class ExportTask:
    """An export leased by a worker; `attempt` is the lease's token."""

    export_id: UUID
    tenant_id: UUID
    run_id: UUID
    job_id: UUID | None
    scope: str  # "run": the run's rows; "job": those of every run of the job
    dataset: ExportDataset
    format: ExportFormat
    options: ExportOptions
    attempt: int

    @property
    def subject(self) -> str:
        """Whose rows, in file names: the run's id, or job-<the job's id>."""
        return f"job-{self.job_id}" if self.scope == "job" else str(self.run_id)

    @classmethod
    def of(cls, record: Any) -> ExportTask:
        return cls(
            export_id=record["export_id"],
            tenant_id=record["tenant_id"],
            run_id=record["run_id"],
            job_id=record["job_id"],
            scope=record["scope"],
            dataset=ExportDataset(record["dataset"]),
            format=ExportFormat(record["format"]),
            options=ExportOptions.model_validate(record["options"]),
            attempt=record["attempts"],
        )


@dataclass(frozen=True)
class Snapshot:
    """The rows of `task`'s dataset in `run_ids` up to `until`."""

    db: Database
    task: ExportTask
    run_ids: list[UUID]
    until: int

    @classmethod
    async def take(cls, db: Database, task: ExportTask) -> Snapshot:
        async with db.connection() as conn:
            run_ids = [task.run_id]
            if task.scope == "job" and task.job_id is not None:
                run_ids = await store.job_runs(conn, tenant_id=task.tenant_id, job_id=task.job_id) or run_ids
            until = await store.last_position(
                conn, _TABLES[task.dataset], tenant_id=task.tenant_id, run_ids=run_ids
            )
        return cls(db, task, run_ids, until)

    @property
    def verdicts(self) -> str:
        """Images by their latest verdict: as `valid` asks, else in an archive all but the
        invalid ones (a dataset of files is for training: judged-bad files stay out)."""
        valid = self.task.options.valid
        if valid is not None:
            return "valid" if valid else "invalid"
        return "not_invalid" if self.task.format.is_archive else "any"

    async def count(self) -> int:
        task, options = self.task, self.task.options
        async with self.db.connection() as conn:
            if task.dataset in _PLAIN:
                return await store.count_plain(
                    conn,
                    _TABLES[task.dataset],
                    tenant_id=task.tenant_id,
                    run_ids=self.run_ids,
                    until=self.until,
                )
            if task.dataset is ExportDataset.IMAGES:
                return await store.count_images(
                    conn,
                    tenant_id=task.tenant_id,
                    run_ids=self.run_ids,
                    until=self.until,
                    verdicts=self.verdicts,
                )
            return await store.count_items(
                conn,
                tenant_id=task.tenant_id,
                run_ids=self.run_ids,
                until=self.until,
                kind=options.kind.value if options.kind else None,
                min_confidence=options.min_confidence,
                valid=options.valid,
                products=task.dataset is ExportDataset.PRODUCTS,
            )

    async def records(self) -> AsyncIterator[Sequence[store.Record]]:
        """Pages of the dataset's records, in order."""
        after: Any = "" if self.task.dataset is ExportDataset.PRODUCTS else 0
        while True:
            async with self.db.connection() as conn:
                page = await self._page(conn, after)
            if not page:
                return
            yield page
            last = page[-1]
            after = last["identity"] if self.task.dataset is ExportDataset.PRODUCTS else last["seq"]

    async def _page(self, conn: Any, after: Any) -> Sequence[store.Record]:
        task, options = self.task, self.task.options
        tenant_id, run_ids, until = task.tenant_id, self.run_ids, self.until
        if task.dataset in _PLAIN:
            table = _TABLES[task.dataset]
            return await store.plain_page(
                conn,
                table,
                tenant_id=tenant_id,
                run_ids=run_ids,
                until=until,
                after=after,
                limit=DOCUMENT_PAGE_ROWS,
            )
        if task.dataset is ExportDataset.IMAGES:
            return await store.images_page(
                conn,
                tenant_id=tenant_id,
                run_ids=run_ids,
                until=until,
                after=after,
                limit=PAGE_ROWS,
                verdicts=self.verdicts,
            )
        if task.dataset is ExportDataset.PRODUCTS:
            return await store.products_page(
                conn,
                tenant_id=tenant_id,
                run_ids=run_ids,
                until=until,
                after=after,
                limit=PAGE_ROWS,
                min_confidence=options.min_confidence,
                valid=options.valid,
            )
        return await store.items_page(
            conn,
            tenant_id=tenant_id,
            run_ids=run_ids,
            until=until,
            after=after,
            limit=PAGE_ROWS,
            kind=options.kind.value if options.kind else None,
            min_confidence=options.min_confidence,
            valid=options.valid,
        )

    async def rows(self, objects: ObjectStore, *, with_markdown: bool) -> AsyncIterator[list[Row]]:
        """Pages of rows as the dataset has them (before the options shape them); documents
        with their Markdown when `with_markdown`."""
        async for records in self.records():
            if self.task.dataset is ExportDataset.DOCUMENTS and with_markdown:
                markdowns = await _texts(objects, [r["markdown_key"] for r in records])
                yield [
                    document_row(r) | {"markdown": markdown}
                    for r, markdown in zip(records, markdowns, strict=True)
                ]
            elif self.task.dataset is ExportDataset.LLM_OUTPUTS:
                yield await _llm_output_rows(objects, records)
            elif self.task.dataset is ExportDataset.DOCUMENTS:
                yield [document_row(r) for r in records]
            elif self.task.dataset is ExportDataset.IMAGES:
                yield [image_row(r) for r in records]
            else:
                yield [item_row(r) for r in records]


async def _texts(objects: ObjectStore, keys: Sequence[str | None]) -> list[str | None]:
    """The objects' text, a few fetches at a time; None for no key, or an object gone (its run
    was deleted while this export ran)."""
    limit = asyncio.Semaphore(OBJECT_FETCHES)

    async def text(key: str | None) -> str | None:
        if key is None:
            return None
        async with limit:
            try:
                return (await objects.get(key)).decode("utf-8", errors="replace")
            except ObjectNotFoundError:
                return None

    return list(await asyncio.gather(*(text(key) for key in keys)))


async def _llm_output_rows(objects: ObjectStore, records: Sequence[store.Record]) -> list[Row]:
    """Each task's output: carried by its event, or read from the document it stored."""
    keys = [None if r["output"] is not None else r["s3_output_path"] for r in records]
    stored = await _texts(objects, keys)
    rows = []
    for record, document in zip(records, stored, strict=True):
        output = record["output"] if document is None else json.loads(document).get("output")
        rows.append(llm_output_row(record, output))
    return rows
