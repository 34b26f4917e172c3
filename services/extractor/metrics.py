"""The extractor's own Prometheus metrics (served on /metrics beside the shared ones)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

_SECONDS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

DOCUMENTS: Final = Counter(
    "trawl_extractor_documents_total",
    "Documents taken in, by type and outcome (indexing, unchanged, no_text, not_text, failed).",
    ["document_type", "outcome"],
)
CHUNKS: Final = Counter(
    "trawl_extractor_chunks_total", "Chunks written, by document type.", ["document_type"]
)
CHUNKS_INDEXED: Final = Counter("trawl_chunks_indexed_total", "Chunks upserted into the vector index.")
EXTRACTION_SECONDS: Final = Histogram(
    "trawl_extractor_extraction_seconds",
    "Extraction plus chunking of one document.",
    ["document_type"],
    buckets=_SECONDS,
)
EMBEDDING_BATCH_SECONDS: Final = Histogram(
    "trawl_embedding_batch_seconds", "Time to embed one batch.", ["backend"], buckets=_SECONDS
)
EMBEDDING_BATCH_SIZE: Final = Histogram(
    "trawl_embedding_batch_size",
    "Texts per embedding batch.",
    ["backend"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
INDEX_PENDING_CHUNKS: Final = Gauge(
    "trawl_extractor_index_pending_chunks", "Chunks written to Postgres but not yet in the vector index."
)
INDEX_OLDEST_PENDING_SECONDS: Final = Gauge(
    "trawl_extractor_index_oldest_pending_seconds", "Age of the oldest chunk waiting for the vector index."
)
SEARCH_SECONDS: Final = Histogram(
    "trawl_search_seconds", "Internal search latency by mode.", ["mode"], buckets=_SECONDS
)
