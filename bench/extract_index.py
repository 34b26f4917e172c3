"""Extractor benchmark: extraction overhead over bare trafilatura, local embedding throughput,
and search latency per mode at 100,000 chunks.

    python -m bench.extract_index [--pages 300] [--embed 1024] [--chunks 100000] [--queries 200]

Needs PostgreSQL (TRAWL_PG_DSN or the local stack); works in a throwaway schema, dropped at
the end. Qdrant runs in memory. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import numpy as np
import trafilatura

from services.extractor import store
from services.extractor.app import SPEC
from services.extractor.commands.search import search
from services.extractor.domain.chunking import Chunk, chunk_blocks
from services.extractor.domain.extract import extract
from services.extractor.domain.search import chunk_id
from services.extractor.embeddings import LocalEmbedder, count_tokens
from services.extractor.pipeline import open_pipeline
from services.extractor.vectors import ChunkPoint
from shared import migrations
from shared.config import Settings
from shared.db import connect_admin, create_pool
from shared.search_api import SearchMode, SearchRequest
from shared.uow import Database

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "extractor"
_BOILERPLATE_TOP = """<html lang="en"><head><meta charset="utf-8">
<title>{title} | Field Guide</title></head><body>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept</button></div>
<header><nav><a href="/">Home</a> <a href="/topics">Topics</a> <a href="/shop">Shop</a>
<a href="/login">Log in</a></nav></header>
<main><article><h1>{title}</h1>"""
_BOILERPLATE_BOTTOM = """</article></main><aside><h3>Popular</h3><ul>{related}</ul></aside>
<footer><p>Copyright 2024 Field Guide Ltd. Privacy. Terms. Contact.</p></footer></body></html>"""


def _sentences() -> list[str]:
    corpus = (FIXTURES / "retrieval" / "corpus.md").read_text()
    prose = " ".join(line for line in corpus.splitlines() if line and not line.startswith("#"))
    return [sentence.strip() for sentence in re.split(r"(?<=[.!?])\s+", prose) if sentence.strip()]


def _pages(count: int, sentences: list[str], rng: random.Random) -> list[str]:
    pages = []
    for number in range(count):
        title = f"Notes {number}: " + " ".join(rng.choice(sentences).split()[:4])
        sections = []
        for section in range(rng.randint(3, 8)):
            paragraphs = "".join(
                f"<p>{' '.join(rng.choices(sentences, k=rng.randint(2, 6)))}</p>"
                for _ in range(rng.randint(1, 4))
            )
            sections.append(f"<h2>Section {section}</h2>{paragraphs}")
        related = "".join(f"<li><a href='/r/{i}'>{rng.choice(sentences)[:40]}</a></li>" for i in range(6))
        pages.append(
            _BOILERPLATE_TOP.format(title=title)
            + "".join(sections)
            + _BOILERPLATE_BOTTOM.format(related=related)
        )
    return pages


def bench_extraction(pages: list[str]) -> None:
    encoded = [page.encode() for page in pages]
    bare = _timed(lambda: [trafilatura.extract(page, output_format="markdown") for page in pages])
    with_metadata = _timed(
        lambda: [trafilatura.extract(page, output_format="markdown", with_metadata=True) for page in pages]
    )
    documents = []
    ours = _timed(
        lambda: documents.extend(
            extract(
                data,
                "text/html; charset=utf-8",
                url="https://bench.example/",
                max_bytes=10**8,
                max_pdf_pages=1,
            )
            for data in encoded
        )
    )
    chunks: list[Chunk] = []
    chunking = _timed(
        lambda: chunks.extend(
            chunk
            for doc in documents
            if doc
            for chunk in chunk_blocks(doc.blocks, count_tokens, max_tokens=200, overlap_tokens=32)
        )
    )
    rate = len(pages)
    print(f"extraction: {len(pages)} pages")
    print(f"  trafilatura.extract, markdown                {rate / bare:8.1f} pages/s")
    print(f"  trafilatura.extract, markdown + metadata     {rate / with_metadata:8.1f} pages/s")
    print(f"  extractor (type, decode, extract, metadata)  {rate / ours:8.1f} pages/s")
    print(f"    overhead ratio vs bare {ours / bare:.2f}x, vs with metadata {ours / with_metadata:.2f}x")
    print(f"  chunking into {len(chunks)} chunks                {rate / chunking:8.1f} pages/s")


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


async def bench_embedding(texts: list[str]) -> None:
    embedder = LocalEmbedder(batch_size=32)
    await embedder.embed(texts[:32])  # warm-up
    started = time.perf_counter()
    await embedder.embed(texts)
    took = time.perf_counter() - started
    tokens = statistics.mean(sum(count_tokens(text.split())) for text in texts)
    print(f"local embedding: {len(texts)} chunks of ~{tokens:.0f} tokens, batch 32")
    print(f"  {len(texts) / took:8.1f} chunks/s")


async def bench_search(settings: Settings, chunk_total: int, queries: int, sentences: list[str]) -> None:
    rng = random.Random(7)
    settings = settings.model_copy(
        update={"schema_prefix": f"bench{uuid4().hex[:8]}_", "qdrant_path": ":memory:"}
    )
    schema = settings.schema_for("extractor")
    admin = await connect_admin(settings)
    await migrations.migrate(admin, schema, migrations.discover(SPEC.migrations_dir))
    pool = await create_pool(settings, "extractor")
    tenant, run = uuid4(), uuid4()
    try:
        async with open_pipeline(settings) as pipeline:
            started = time.perf_counter()
            per_document = 10
            # Real embeddings for a base set; the rest are those vectors with noise, so the
            # index holds 100k distinct points without hours of CPU embedding.
            base_texts = [" ".join(rng.choices(sentences, k=5)) for _ in range(256)]
            base_vectors = np.array(await pipeline.embedder.embed(base_texts), dtype=np.float32)
            for start in range(0, chunk_total, per_document * 500):
                async with pool.acquire() as conn, conn.transaction():
                    points = []
                    for doc_number in range(
                        start // per_document, (start + per_document * 500) // per_document
                    ):
                        if doc_number * per_document >= chunk_total:
                            break
                        doc = store.NewDocument(
                            id=uuid4(),
                            tenant_id=tenant,
                            job_id=None,
                            run_id=run,
                            source_type="crawl",
                            url=f"https://bench.example/{doc_number}",
                            url_hash=None,
                            content_hash="x",
                            s3_key="raw/x",
                            document_type="html",
                            title=f"Document {doc_number}",
                        )
                        chunks = [
                            _chunk(i, " ".join(rng.choices(sentences, k=rng.randint(3, 7))))
                            for i in range(per_document)
                        ]
                        await store.insert_document(conn, doc, chunks)
                        for chunk in chunks:
                            base = base_vectors[rng.randrange(len(base_vectors))]
                            noisy = base + rng.gauss(0, 0.05) * np.random.default_rng(
                                len(points)
                            ).standard_normal(384)
                            points.append(
                                ChunkPoint(
                                    chunk_id(doc.id, chunk.index),
                                    (noisy / np.linalg.norm(noisy)).tolist(),
                                    tenant,
                                    None,
                                    run,
                                    doc.id,
                                    chunk.index,
                                    doc.url,
                                    doc.title,
                                    "html",
                                    chunk.text,
                                )
                            )
                    await conn.execute("UPDATE chunks SET indexed_at = now() WHERE indexed_at IS NULL")
                await pipeline.vectors.upsert(points)
            await pool.execute("ANALYZE chunks; ANALYZE documents")
            print(f"search: {chunk_total:,} chunks loaded in {time.perf_counter() - started:.0f}s")
            questions = [
                line.split("\t")[2]
                for line in (FIXTURES / "retrieval" / "questions.tsv").read_text().splitlines()[1:]
            ]
            db = Database(pool, service=SPEC.name, topic_prefix=settings.topic_prefix)
            for mode in SearchMode:
                latencies = []
                for number in range(queries):
                    request = SearchRequest(
                        tenant_id=tenant, query=questions[number % len(questions)], mode=mode
                    )
                    began = time.perf_counter()
                    await search(db, pipeline, request)
                    latencies.append((time.perf_counter() - began) * 1000)
                latencies.sort()
                p50 = latencies[len(latencies) // 2]
                p95 = latencies[int(len(latencies) * 0.95) - 1]
                print(f"  {mode.value:8} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({queries} queries, top 10)")
    finally:
        await pool.close()
        await migrations.drop_schema(admin, schema)
        await admin.close()


def _chunk(index: int, text: str) -> Chunk:
    return Chunk(index, text, sum(count_tokens(text.split())), ("Bench",), None, 0, 0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--embed", type=int, default=1024)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    sentences = _sentences()
    rng = random.Random(42)
    bench_extraction(_pages(args.pages, sentences, rng))
    await bench_embedding([" ".join(rng.choices(sentences, k=8)) for _ in range(args.embed)])
    await bench_search(Settings(), args.chunks, args.queries, sentences)


if __name__ == "__main__":
    asyncio.run(main())
