"""`trawl reindex` on a live store: how long it takes, and whether searches notice.

    python -m bench.reindex_live [--chunks 20000]

The extractor runs in this process (real Kafka, PostgreSQL, S3; Qdrant Edge on disk) over a
store of `--chunks` chunks of realistic text (MiniLM vectors, see `bench.vector_search`). Two
reindexes run while a probe searches every 100 ms through the extractor's search path
(hybrid): one with the live model (vectors copied from the live collection, the HNSW index
built aside: what the extractor does by itself past `TRAWL_VECTOR_INDEX_THRESHOLD`), then one
to a new embedding model (an OpenAI-compatible embeddings server on localhost answering
8-dimension vectors at once: the bench measures the reindex, not a model; with MiniLM on this
CPU, embedding is ~15-50 chunks/s and that alone would set the time). Counts failed and empty
answers (the goal: 0) and their latency meanwhile. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from uuid import uuid4

from bench.realistic_text import zipf_queries
from bench.search_at_scale import _load
from bench.vector_search import BIG, base_vectors, percentile
from services.extractor.app import SPEC
from services.extractor.commands.reindex import ReindexRequest, reindex_status, start_reindex
from services.extractor.commands.search import search
from services.extractor.pipeline import Pipeline
from shared.config import Settings
from shared.search_api import SearchMode, SearchRequest
from shared.service import ServiceRuntime, running
from shared.uow import Database
from tests.fixtures.extractor.embedding_server import serving
from tests.support import drop_isolated


class Probe:
    def __init__(self, db: Database, pipeline: Pipeline, queries: list[str]) -> None:
        self.db, self.pipeline, self.queries = db, pipeline, queries
        self.took: list[float] = []
        self.failed = self.empty = 0
        self.stopped = False

    async def run(self) -> None:
        number = 0
        while not self.stopped:
            query = self.queries[number % len(self.queries)]
            number += 1
            began = time.perf_counter()
            try:
                answer = await search(
                    self.db, self.pipeline, SearchRequest(tenant_id=BIG, query=query, mode=SearchMode.HYBRID)
                )
                self.empty += not answer.hits
            except Exception:
                self.failed += 1
            self.took.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(0.1)


async def _reindex(db: Database, pipeline: Pipeline, probe: Probe, request: ReindexRequest) -> None:
    probe.took, probe.failed, probe.empty = [], 0, 0
    started = time.perf_counter()
    target = (await start_reindex(db, pipeline, request)).collection
    while True:
        status = await reindex_status(db)
        if status.collection == target and status.state == "active":
            break
        await asyncio.sleep(0.2)
    seconds = time.perf_counter() - started
    rate = status.copied / seconds
    print(
        f"reindex to {status.model}: {status.copied:,} chunks in {seconds:.1f}s ({rate:,.0f}/s); "
        f"{len(probe.took)} searches meanwhile, {probe.failed} failed, {probe.empty} empty, "
        f"p50 {percentile(probe.took, 50):.1f} ms, p95 {percentile(probe.took, 95):.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=20_000)
    args = parser.parse_args()
    tag = uuid4().hex[:8]
    async with serving() as embeddings:
        settings = Settings().model_copy(
            update={
                "topic_prefix": f"bench{tag}.",
                "schema_prefix": f"bench{tag}_",
                "http_base_port": 0,
                "qdrant_path": tempfile.mkdtemp(prefix="bench-reindex-"),
                "embedding_url": f"{embeddings.url}/v1",
                "reindex_check_seconds": 0.5,
            }
        )
        try:
            async with running([ServiceRuntime(SPEC, settings)]) as (runtime,):
                db, pipeline = runtime.resources.get(Database), runtime.resources.get(Pipeline)
                await _load(db, pipeline, args.chunks, await base_vectors())
                print(f"{args.chunks:,} chunks indexed with {pipeline.embedder.model_name}")
                probe = Probe(db, pipeline, zipf_queries(50, seed=9))
                for query in probe.queries[:5]:  # warm: the model's first run, cold caches
                    await search(db, pipeline, SearchRequest(tenant_id=BIG, query=query))
                probing = asyncio.create_task(probe.run())
                await _reindex(db, pipeline, probe, ReindexRequest())
                await _reindex(db, pipeline, probe, ReindexRequest(model="hash-8"))
                probe.stopped = True
                await probing
        finally:
            await drop_isolated(settings)


if __name__ == "__main__":
    asyncio.run(main())
