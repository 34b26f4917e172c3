"""The extractor's background loops, thin adapters over its application layer.

The indexer runs `commands.indexing` round after round; Qdrant or the embedder being down
stalls it (readiness says why) and nothing is lost. The deletion driver runs
`commands.deletion` for every run deletion not done yet; the reindexer carries a recorded
reindex (`commands.reindex`) to its end, also one a crash interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.extractor import metrics, store
from services.extractor.commands.deletion import drive_deletion
from services.extractor.commands.indexing import index_waiting
from services.extractor.commands.reindex import (
    drive_reindex,
    follow_pointer,
    record_reindex_error,
    reindex_when_due,
)
from services.extractor.pipeline import Pipeline
from shared.s3 import ObjectStore
from shared.service import ServiceRuntime
from shared.uow import Database

log = logging.getLogger(__name__)

_MAX_BACKOFF = 30.0


async def index_forever(runtime: ServiceRuntime) -> None:
    pipeline = runtime.resources.get(Pipeline)
    db = runtime.resources.get(Database)
    settings = runtime.settings
    backoff = settings.index_poll_interval
    while True:
        try:
            await follow_pointer(db, pipeline)
            indexed = await index_waiting(db, pipeline)
        except Exception as exc:
            pipeline.health.failed(exc)
            log.warning("indexing failed, chunks wait (retry in %.1fs): %s", backoff, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)
            continue
        pipeline.health.succeeded()
        backoff = settings.index_poll_interval
        async with db.connection() as conn:
            pending, oldest = await store.index_lag(conn)
        metrics.INDEX_PENDING_CHUNKS.set(pending)
        metrics.INDEX_OLDEST_PENDING_SECONDS.set(oldest)
        if not indexed:
            await asyncio.sleep(settings.index_poll_interval)


async def delete_runs_forever(runtime: ServiceRuntime) -> None:
    pipeline = runtime.resources.get(Pipeline)
    db = runtime.resources.get(Database)
    objects = runtime.resources.get(ObjectStore)
    while True:
        async with db.connection() as conn:
            pending = await store.pending_deletions(conn)
        for deletion in pending:
            try:
                await drive_deletion(db, pipeline, objects, deletion)
            except Exception:
                log.exception("deleting run %s stalled; will retry", deletion["run_id"])
        await asyncio.sleep(runtime.settings.index_poll_interval)


async def reindex_forever(runtime: ServiceRuntime) -> None:
    pipeline = runtime.resources.get(Pipeline)
    db = runtime.resources.get(Database)
    backoff = runtime.settings.index_poll_interval
    while True:
        try:
            if not await drive_reindex(db, pipeline):
                await reindex_when_due(db, pipeline)
        except Exception as exc:
            log.exception("reindexing stalled; will resume (retry in %.1fs)", backoff)
            await record_reindex_error(db, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)
            continue
        backoff = runtime.settings.index_poll_interval
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                pipeline.vectors.reindex_requested.wait(), runtime.settings.reindex_check_seconds
            )
        pipeline.vectors.reindex_requested.clear()
