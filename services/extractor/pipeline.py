"""The extractor's long-lived resources: embedder, vector index, limits, and indexer health.

Opened by the service's lifespan and registered in `runtime.resources`; handlers, workers,
the search route and `trawl reconcile` all reach the same instance.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from services.extractor import metrics
from services.extractor.domain.chunking import Chunk, chunk_blocks
from services.extractor.domain.documents import ExtractedDocument
from services.extractor.domain.extract import extract
from services.extractor.domain.items import FoundItems, ItemsPlan, find_items
from services.extractor.embeddings import EmbeddingBackend, count_tokens
from services.extractor.vectors.index import VectorIndex, open_vector_index
from shared.config import Settings
from shared.uow import Database


@dataclass
class IndexHealth:
    """Whether the indexer's last round reached the embedder and the vector index."""

    error: str | None = None
    since: float = field(default_factory=time.monotonic)

    def succeeded(self) -> None:
        if self.error is not None:
            self.error, self.since = None, time.monotonic()

    def failed(self, exc: BaseException) -> None:
        if self.error is None:
            self.since = time.monotonic()
        self.error = f"{type(exc).__name__}: {exc}"[:300]

    async def check(self) -> None:
        if self.error is not None:
            waited = time.monotonic() - self.since
            raise RuntimeError(f"indexing stalled for {waited:.0f}s, chunks are waiting: {self.error}")


@dataclass(frozen=True)
class Processed:
    """A document extracted and chunked, with its Markdown ready to store (gzipped)."""

    document: ExtractedDocument
    chunks: list[Chunk]
    markdown_gzip: bytes
    markdown_sha256: str
    items: FoundItems


@dataclass
class Pipeline:
    settings: Settings
    vectors: VectorIndex
    health: IndexHealth = field(default_factory=IndexHealth)

    @property
    def embedder(self) -> EmbeddingBackend:
        """The model of the collection searches use."""
        return self.vectors.embedder

    def process(
        self,
        data: bytes,
        content_type: str,
        *,
        url: str | None,
        name: str | None,
        plan: ItemsPlan | None = None,
    ) -> Processed | None:
        """Extract, find the items the job asks for, and chunk (CPU-bound: call it in a worker
        thread). None when not text."""
        started = time.perf_counter()
        document = extract(
            data,
            content_type,
            url=url,
            name=name,
            max_bytes=self.settings.extractor_max_document_bytes,
            max_pdf_pages=self.settings.extractor_max_pdf_pages,
        )
        if document is None:
            return None
        chunks = chunk_blocks(
            document.blocks,
            count_tokens,
            max_tokens=self.settings.chunk_tokens,
            overlap_tokens=self.settings.chunk_overlap_tokens,
        )
        items = find_items(document, url, plan or ItemsPlan())
        markdown = document.markdown.encode()
        metrics.EXTRACTION_SECONDS.labels(document.document_type.value).observe(time.perf_counter() - started)
        return Processed(
            document,
            chunks,
            gzip.compress(markdown, compresslevel=6),
            hashlib.sha256(markdown).hexdigest(),
            items,
        )


@contextlib.asynccontextmanager
async def open_pipeline(settings: Settings, db: Database) -> AsyncIterator[Pipeline]:
    async with open_vector_index(settings, db) as vectors:
        yield Pipeline(settings, vectors)
