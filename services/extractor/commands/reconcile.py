"""Compare Postgres (the source of truth), Qdrant and S3, report the differences, repair them.

* missing points: chunks marked indexed with no point -> embedded and upserted again;
* orphan points: points with no chunk row -> deleted;
* orphan objects: raw objects of deleted runs that no document references any more ->
  deleted. Content-addressed objects are shared, so only keys recorded by a run deletion are
  ever candidates: the crawler's objects the extractor never saw are not its to remove.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from pydantic import BaseModel

from services.extractor import store
from services.extractor.commands.indexing import upsert_chunks
from services.extractor.pipeline import Pipeline
from shared.s3 import ObjectStore
from shared.uow import Database


class ReconcileRequest(BaseModel):
    run_id: UUID | None = None
    repair: bool = False


@dataclass
class Report:
    run_id: UUID | None
    chunks: int = 0
    points: int = 0
    missing_points: list[UUID] = field(default_factory=list)
    orphan_points: list[UUID] = field(default_factory=list)
    orphan_objects: list[str] = field(default_factory=list)
    repaired: bool = False

    @property
    def consistent(self) -> bool:
        return not (self.missing_points or self.orphan_points or self.orphan_objects)


async def reconcile(
    db: Database, pipeline: Pipeline, objects: ObjectStore, *, run_id: UUID | None, repair: bool
) -> Report:
    report = Report(run_id)
    async with db.connection() as conn:
        tenant_id = await store.run_tenant(conn, run_id) if run_id else None
        every_chunk = await store.chunk_ids(conn, run_id=run_id, indexed_only=False)
        indexed = await store.chunk_ids(conn, run_id=run_id, indexed_only=True)
        deleted_keys = await store.deleted_run_keys(conn, run_id)
        unreferenced = await store.unreferenced_keys(conn, deleted_keys)
    if run_id is not None and tenant_id is None:
        points = set()  # nothing of this run was ever seen
    else:
        points = await pipeline.vectors.point_ids(tenant_id=tenant_id, run_id=run_id)
    report.chunks, report.points = len(every_chunk), len(points)
    report.missing_points = sorted(indexed - points)
    report.orphan_points = sorted(points - every_chunk)
    report.orphan_objects = sorted([key for key in unreferenced if await objects.exists(key)])
    if repair and not report.consistent:
        await _repair(db, pipeline, objects, report)
        report.repaired = True
    return report


async def _repair(db: Database, pipeline: Pipeline, objects: ObjectStore, report: Report) -> None:
    if report.missing_points:
        async with db.connection() as conn:
            rows = await store.chunks_for_points(conn, report.missing_points)
        await upsert_chunks(pipeline, rows, {row["document_id"]: row for row in rows})
    await pipeline.vectors.delete_ids(report.orphan_points)
    await objects.delete_many(report.orphan_objects)
