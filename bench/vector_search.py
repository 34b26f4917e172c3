"""Vector search at scale: Qdrant Edge (the embedded engine, in its host process) at 100,000 and
300,000 chunk points, against qdrant-client's local mode (the engine it replaces) on the same
points and queries in the same run.

    python -m bench.vector_search [--sizes 100000,300000] [--queries 200] [--reference 100000]

Per size: load time; p50/p95 of a filtered top-50 search (the depth hybrid search asks for)
for the big tenant (80% of the points), a small one (2%) and one run, on plain segments (never
built) and after the HNSW build; search p95 and the service's event-loop lag *while* a second
collection builds its index (what a reindex does); and the host's RSS per 100k points.
Vectors: real MiniLM embeddings of 512 texts, each point one of them plus noise (embedding
300k chunks on this CPU would take an hour); queries are real embeddings of the labelled
questions. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

import numpy as np
import numpy.typing as npt
import psutil

from services.extractor.embeddings import LocalEmbedder
from services.extractor.vectors.edge import EdgeVectorStore
from services.extractor.vectors.points import ChunkPoint, VectorFilter, VectorStore
from services.extractor.vectors.server import ServerVectorStore, local_client

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "extractor" / "retrieval"
DEPTH = 50  # hybrid search asks each side for max(4 x limit, 50) candidates
BATCH = 2000
BIG, SMALL = UUID(int=1), UUID(int=2)
RUNS = [UUID(int=1000 + number) for number in range(50)]


def tenant_for(number: int) -> UUID:
    """80% of the points belong to one tenant; the rest to nine others, 2% each."""
    return BIG if number % 50 < 40 else UUID(int=2 + number % 9)


def noisy(base: npt.NDArray[np.float32], count: int, seed: int) -> npt.NDArray[np.float32]:
    """`count` unit vectors, each a base vector plus noise."""
    rng = np.random.default_rng(seed)
    picked = base[rng.integers(0, len(base), count)] + rng.normal(0, 0.04, (count, base.shape[1]))
    unit: npt.NDArray[np.float32] = (picked / np.linalg.norm(picked, axis=1, keepdims=True)).astype(
        np.float32
    )
    return unit


async def base_vectors(count: int = 512) -> npt.NDArray[np.float32]:
    """Real MiniLM embeddings of `count` texts made of the retrieval corpus's sentences."""
    rng = random.Random(3)
    corpus = (FIXTURES / "corpus.md").read_text()
    sentences = [line for line in corpus.split(". ") if len(line) > 40]
    embedder = LocalEmbedder()
    try:
        texts = [" ".join(rng.choices(sentences, k=4)) for _ in range(count)]
        return np.array(await embedder.embed(texts), dtype=np.float32)
    finally:
        await embedder.aclose()


def _points(start: int, count: int, base: npt.NDArray[np.float32], seed: int) -> list[ChunkPoint]:
    return [
        ChunkPoint(
            chunk_id=UUID(int=(1 << 64) + start + offset),
            vector=vector.tolist(),
            tenant_id=tenant_for(start + offset),
            job_id=None,
            run_id=RUNS[(start + offset) % len(RUNS)],
            document_id=UUID(int=(2 << 64) + (start + offset) // 10),
            chunk_index=(start + offset) % 10,
            url=f"https://bench.example/{(start + offset) // 10}",
            title=f"Document {(start + offset) // 10}",
            document_type="html",
            text="bench chunk " * 40,
        )
        for offset, vector in enumerate(noisy(base, count, seed))
    ]


async def _load(store: VectorStore, size: int, base: npt.NDArray[np.float32]) -> float:
    started = time.perf_counter()
    for start in range(0, size, BATCH):
        await store.upsert(_points(start, min(BATCH, size - start), base, seed=start))
    return time.perf_counter() - started


async def _latencies(store: VectorStore, queries: Sequence[list[float]], where: VectorFilter) -> list[float]:
    took = []
    for query in queries:
        began = time.perf_counter()
        await store.search(query, where, DEPTH)
        took.append((time.perf_counter() - began) * 1000)
    return took


def percentile(values: Sequence[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def _row(label: str, took: Sequence[float], reference: Sequence[float] | None = None) -> str:
    line = f"  {label:44} p50 {percentile(took, 50):8.2f} ms   p95 {percentile(took, 95):8.2f} ms"
    if reference:
        line += f"   ({percentile(reference, 95) / percentile(took, 95):6.0f}x faster at p95 than local mode)"
    return line


def _filters() -> dict[str, VectorFilter]:
    return {
        "big tenant (80%)": VectorFilter(BIG),
        "small tenant (2%)": VectorFilter(UUID(int=5)),
        "big tenant, one run": VectorFilter(BIG, run_id=RUNS[0]),
    }


async def _host_rss(store: EdgeVectorStore) -> float:
    return float(psutil.Process(await store.host_pid()).memory_info().rss) / 2**20


async def _loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """How late a 10 ms sleep wakes up: what every other task of the service would wait."""
    while not stop.is_set():
        began = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - began - 0.01) * 1000)


async def bench_edge(
    size: int, base: npt.NDArray[np.float32], queries: list[list[float]], reference: dict[str, list[float]]
) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-edge-"))
    live = EdgeVectorStore(directory, "live", base.shape[1])
    building = EdgeVectorStore(directory, "building", base.shape[1])
    try:
        await live.ping()
        rss_empty = await _host_rss(live)
        loaded = await _load(live, size, base)
        print(f"Qdrant Edge, {size:,} points: loaded in {loaded:.1f}s ({size / loaded:,.0f} points/s)")
        rss_plain = await _host_rss(live)
        for label, where in _filters().items():
            print(_row(f"plain segments, {label}", await _latencies(live, queries, where)))

        await _load(building, size, base)
        stop, lags = asyncio.Event(), []  # type: ignore[var-annotated]
        lagging = asyncio.create_task(_loop_lag(stop, lags))
        began = time.perf_counter()
        build = asyncio.create_task(building.build_index())
        during: list[float] = []
        while not build.done():
            during += await _latencies(live, queries[:20], VectorFilter(BIG))
        built_in = time.perf_counter() - began
        stop.set()
        await lagging
        print(
            _row(f"live search while another builds ({built_in:.0f}s)", during)
            + f"   [{len(during)} searches, 0 failed]"
        )
        print(
            f"  {'event-loop lag meanwhile':44} p95 {percentile(lags, 95):8.2f} ms   max {max(lags):8.2f} ms"
        )
        for label, where in _filters().items():
            took = await _latencies(building, queries, where)
            print(_row(f"after the HNSW build, {label}", took, reference.get(label)))
        rss_built = await _host_rss(building)
        per = 100_000 / size
        print(
            f"  host RSS: {rss_empty:.0f} MiB empty; per 100k points +{(rss_plain - rss_empty) * per:.0f} MiB"
            f" plain, +{(rss_built - rss_empty) * per:.0f} MiB with HNSW"
        )
    finally:
        await live.close()
        await building.close()
        shutil.rmtree(directory, ignore_errors=True)


async def bench_local_mode(
    size: int, base: npt.NDArray[np.float32], queries: list[list[float]]
) -> dict[str, list[float]]:
    client = local_client()
    store = ServerVectorStore(client, "reference", base.shape[1])
    took: dict[str, list[float]] = {}
    try:
        loaded = await _load(store, size, base)
        print(f"qdrant-client local mode (the reference), {size:,} points: loaded in {loaded:.1f}s")
        for label, where in _filters().items():
            took[label] = await _latencies(store, queries, where)
            print(_row(f"local mode, {label}", took[label]))
    finally:
        await client.close()
    return took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reference", type=int, default=100_000, help="local-mode size (0: skip)")
    parser.add_argument("--reference-queries", type=int, default=20, help="local mode takes seconds each")
    args = parser.parse_args()
    questions = [line.split("\t")[2] for line in (FIXTURES / "questions.tsv").read_text().splitlines()[1:]]
    base = await base_vectors()
    embedder = LocalEmbedder()
    asked = [
        questions[number % len(questions)] + ("" if number < len(questions) else f" {number}")
        for number in range(args.queries)
    ]
    queries = await embedder.embed(asked)
    await embedder.aclose()
    reference: dict[str, list[float]] = {}
    if args.reference:
        reference = await bench_local_mode(args.reference, base, queries[: args.reference_queries])
    for size in (int(value) for value in args.sizes.split(",")):
        await bench_edge(size, base, queries, reference if size == args.reference else {})
    print(f"(top {DEPTH}; {statistics.mean(len(q) for q in queries):.0f}-dimension queries)")


if __name__ == "__main__":
    asyncio.run(main())
