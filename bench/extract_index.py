"""Extractor benchmark: extraction overhead over bare trafilatura, and local embedding
throughput. Search at scale is `bench.search_at_scale` (hybrid, keyword and vector through the
search path) and `bench.vector_search` (the vector engines alone).

    python -m bench.extract_index [--pages 300] [--embed 1024]

Prints figures; asserts nothing.
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

import trafilatura

from services.extractor.domain.chunking import Chunk, chunk_blocks
from services.extractor.domain.extract import extract
from services.extractor.embeddings import LocalEmbedder, count_tokens

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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--embed", type=int, default=1024)
    args = parser.parse_args()
    sentences = _sentences()
    rng = random.Random(42)
    bench_extraction(_pages(args.pages, sentences, rng))
    await bench_embedding([" ".join(rng.choices(sentences, k=8)) for _ in range(args.embed)])


if __name__ == "__main__":
    asyncio.run(main())
