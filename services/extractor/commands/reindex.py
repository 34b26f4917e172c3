"""Reindexing: rebuild the vectors from Postgres (the source of truth) into a new collection
while searches keep using the live one, then move the pointer and drop the old collection.

A reindex is a `building` row in `vector_collections`; the extractor's reindex worker drives it
through its phases and records each page, so a reindex killed at any point resumes:

1. copying: indexed chunks in id order, embedded by the new model, from the recorded cursor;
2. indexing: the new collection builds its search index (its own host process: searches of
   the live collection keep answering);
3. catching up: new points now go to both collections; what changed meanwhile (chunks
   indexed or deleted since they were copied) is mended from Postgres, once freely and once
   more with the indexer paused, so the pointer moves over a collection equal to Postgres.

`trawl reindex --run ID` is the small form: that run's chunks embedded again in place.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from services.extractor import store
from services.extractor.commands.indexing import chunk_point, upsert_chunks, write_points
from services.extractor.embeddings import LOCAL_MODEL_NAME, EmbeddingBackend
from services.extractor.pipeline import Pipeline
from services.extractor.vectors.index import Target, collection_name, open_embedder
from shared.config import Settings
from shared.uow import Database

log = logging.getLogger(__name__)

_SMALLEST_INDEXED = 10_000


class ReindexRequest(BaseModel):
    model: str | None = None
    run_id: UUID | None = None
    reembed: bool = False  # embed the text again even with the live model


class ReindexStatus(BaseModel):
    collection: str
    model: str
    state: str
    phase: str
    copied: int
    total: int
    error: str | None = None
    started_at: datetime
    switched_at: datetime | None = None


class ReindexRefused(ValueError):
    """The request cannot be carried out as asked (the message says why)."""


def _status(row: asyncpg.Record) -> ReindexStatus:
    return ReindexStatus(
        collection=row["name"],
        model=row["model"],
        state=row["state"],
        phase=row["phase"],
        copied=row["copied"],
        total=row["total"],
        error=row["error"],
        started_at=row["created_at"],
        switched_at=row["switched_at"],
    )


async def reindex_status(db: Database) -> ReindexStatus:
    """The reindex under way, else the live collection."""
    async with db.connection() as conn:
        row = await store.collection(conn, "building") or await store.collection(conn, "active")
    if row is None:
        raise ReindexRefused("no vector collection yet: the extractor has not started")
    return _status(row)


def backend_of(settings: Settings, model: str) -> str:
    if model in (LOCAL_MODEL_NAME, "local"):
        return "local"
    if not settings.embedding_url:
        raise ReindexRefused(
            f"model {model!r} is not the local model ({LOCAL_MODEL_NAME}); "
            "set TRAWL_EMBEDDING_URL to an OpenAI-compatible server that serves it"
        )
    return "openai"


async def start_reindex(db: Database, pipeline: Pipeline, request: ReindexRequest) -> ReindexStatus:
    """Record a reindex for the worker to drive (or, with a run, re-embed that run now)."""
    live = pipeline.vectors.active
    if request.run_id is not None:
        if request.model not in (None, live.embedder.model_name):
            raise ReindexRefused("a run is reindexed with the live model; a new model rebuilds everything")
        await _reembed_run(db, pipeline, request.run_id)
        return await reindex_status(db)
    async with db.connection() as conn:
        if (building := await store.collection(conn, "building")) is not None:
            raise ReindexRefused(f"a reindex into {building['name']} is under way ({building['phase']})")
    model = request.model or live.embedder.model_name
    backend = backend_of(pipeline.settings, model) if request.model else live_backend(pipeline)
    embedder = await _embedder(pipeline, backend, model)
    version = datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
    async with db.connection() as conn:
        row = await store.register_collection(
            conn,
            name=collection_name(pipeline.settings, embedder, version),
            model=embedder.model_name,
            backend=backend,
            dimension=embedder.dimension,
            state="building",
            total=await store.indexed_chunk_count(conn, None),
            reembed=request.reembed,
        )
    if embedder is not live.embedder:
        await embedder.aclose()  # the worker opens its own
    pipeline.vectors.reindex_requested.set()
    return _status(row)


def live_backend(pipeline: Pipeline) -> str:
    return "local" if pipeline.vectors.active.embedder.model_name == LOCAL_MODEL_NAME else "openai"


async def _embedder(pipeline: Pipeline, backend: str, model: str) -> EmbeddingBackend:
    live = pipeline.vectors.active.embedder
    if model == live.model_name:
        return live
    return await open_embedder(pipeline.settings, backend, model)


async def _reembed_run(db: Database, pipeline: Pipeline, run_id: UUID) -> None:
    cursor: UUID | None = None
    while True:
        async with db.connection() as conn:
            rows = await store.indexed_chunks_after(
                conn, cursor, run_id=run_id, limit=pipeline.settings.reindex_page_chunks
            )
        if not rows:
            return
        await upsert_chunks(pipeline, rows, {row["document_id"]: row for row in rows})
        cursor = rows[-1]["id"]


async def reindex_when_due(db: Database, pipeline: Pipeline) -> ReindexStatus | None:
    """Start a reindex with the live model when enough of the live collection is searched by
    brute force (Qdrant Edge builds no index by itself, and building one in place would stall
    its searches): the copy gets its index built aside, then replaces it."""
    live = pipeline.vectors.active.store
    threshold = pipeline.settings.vector_index_threshold
    # Edge leaves segments of a few thousand points unindexed (brute force is as fast there),
    # so a lower threshold would start reindex after reindex.
    unindexed = await live.unindexed() if threshold else 0
    if not threshold or unindexed < max(threshold, _SMALLEST_INDEXED):
        return None
    async with db.connection() as conn:
        if await store.collection(conn, "building") is not None:
            return None
    log.info("the live collection %s has %d points without an index: reindexing", live.name, unindexed)
    return await start_reindex(db, pipeline, ReindexRequest())


async def follow_pointer(db: Database, pipeline: Pipeline) -> None:
    """Take up what another replica's reindex recorded (a server's collections are shared):
    search and write the collection now live, and mirror writes into one catching up."""
    index = pipeline.vectors
    async with index.switch_lock:  # read under the lock: a switch of this process may be under way
        async with db.connection() as conn:
            live = await store.collection(conn, "active")
            building = await store.collection(conn, "building")
        if live is not None and live["name"] != index.active.store.name:
            retired, index.active = index.active, await _target(pipeline, live)
            await _release(retired, keep=index.active)
        if building is not None and building["phase"] == "catching_up" and not index.mirroring:
            if index.building is None or index.building.store.name != building["name"]:
                index.building = await _target(pipeline, building)
            index.mirroring = True


async def _target(pipeline: Pipeline, row: asyncpg.Record) -> Target:
    embedder = await _embedder(pipeline, row["backend"], row["model"])
    return Target(pipeline.vectors.engine.store(row["name"], row["dimension"]), embedder)


async def _release(target: Target, *, keep: Target) -> None:
    """Close what this process held of a collection no longer live (not drop it)."""
    await target.store.close()
    if target.embedder is not keep.embedder:
        await target.embedder.aclose()


async def drive_reindex(db: Database, pipeline: Pipeline) -> bool:
    """Carry the reindex under way to its end; False when there is none."""
    async with db.connection() as conn:
        row = await store.collection(conn, "building")
        left = await store.collection(conn, "retired")
    if left is not None:  # a switch the process did not live to clean up after
        await pipeline.vectors.engine.store(left["name"], left["dimension"]).drop()
        async with db.connection() as conn:
            await store.forget_collection(conn, left["name"])
    if row is None:
        return False
    index = pipeline.vectors
    if index.building is None or index.building.store.name != row["name"]:
        index.building = await _target(pipeline, row)
    target = index.building
    name, phase, copied, cursor = row["name"], row["phase"], row["copied"], row["cursor"]
    if phase == "copying":
        while rows := await _page(db, cursor, pipeline.settings.reindex_page_chunks):
            await _copy(index.active, target, rows, reembed=row["reembed"])
            copied, cursor = copied + len(rows), rows[-1]["id"]
            await _progress(db, name, "copying", copied, cursor)
        phase = "indexing"
        await _progress(db, name, phase, copied, cursor)
    if phase == "indexing":
        await target.store.build_index()
        phase = "catching_up"
        await _progress(db, name, phase, copied, cursor)
    async with index.switch_lock:
        index.mirroring = True
    await _catch_up(db, target)
    async with index.switch_lock:
        await _catch_up(db, target)
        # The alias first: should the record fail after it, the next round switches again.
        await index.engine.point_alias(name)
        async with db.connection() as conn, conn.transaction():
            await store.switch_active(conn, name)
        retired, index.active = index.active, target
        index.building, index.mirroring = None, False
    # Other replicas (on a server) take up the new pointer within an indexer round; until then
    # they search the old collection and may still write to it: wait, mend once more, drop.
    await asyncio.sleep(pipeline.settings.reindex_drop_grace_seconds)
    await _catch_up(db, target)
    await _release(retired, keep=target)
    await retired.store.drop()
    async with db.connection() as conn:
        await store.forget_collection(conn, retired.store.name)
    log.info("reindexed %d chunks into %s; searches use it now", copied, name)
    return True


async def _copy(live: Target, target: Target, rows: list[asyncpg.Record], *, reembed: bool) -> None:
    """Write a page of chunks into the new collection. With the live model, the vectors are
    taken from the live collection (embedding again would give the same ones, slowly) unless
    asked to embed again; a new model embeds the text."""
    documents = {row["document_id"]: row for row in rows}
    if reembed or target.embedder is not live.embedder:
        await write_points([target], rows, documents)
        return
    stored = await live.store.vectors([row["id"] for row in rows])
    await target.store.upsert(
        [chunk_point(row, stored[row["id"]], row) for row in rows if row["id"] in stored]
    )
    await write_points([target], [row for row in rows if row["id"] not in stored], documents)


async def _page(db: Database, cursor: UUID | None, size: int) -> list[asyncpg.Record]:
    async with db.connection() as conn:
        return list(await store.indexed_chunks_after(conn, cursor, run_id=None, limit=size))


async def _progress(db: Database, name: str, phase: str, copied: int, cursor: UUID | None) -> None:
    async with db.connection() as conn:
        await store.record_progress(conn, name, phase=phase, copied=copied, cursor=cursor)


async def _catch_up(db: Database, target: Target) -> None:
    """Make the collection hold exactly the indexed chunks: what was indexed after its copy
    is added, what was deleted is removed."""
    points = await target.store.point_ids()
    async with db.connection() as conn:
        every_chunk = await store.chunk_ids(conn, run_id=None, indexed_only=False)
        indexed = await store.chunk_ids(conn, run_id=None, indexed_only=True)
        missing = sorted(indexed - points)
        rows = await store.chunks_for_points(conn, missing) if missing else []
    await write_points([target], rows, {row["document_id"]: row for row in rows})
    await target.store.delete_ids(sorted(points - every_chunk))


async def record_reindex_error(db: Database, exc: BaseException) -> None:
    """Say on the reindex why it stalled (shown by `trawl reindex`); it resumes by itself."""
    async with db.connection() as conn:
        row = await store.collection(conn, "building")
        if row is not None:
            await store.record_progress(
                conn,
                row["name"],
                phase=row["phase"],
                copied=row["copied"],
                cursor=row["cursor"],
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
